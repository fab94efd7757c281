"""Mastodon's NotificationPolicy (v2: accept/filter/drop per category) and its v1 form."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.notifications.policy import PolicyView


def _summary(view: PolicyView) -> dict[str, int]:
    return {
        "pending_requests_count": view.pending_requests_count,
        "pending_notifications_count": view.pending_notifications_count,
    }


def policy_json(view: PolicyView) -> dict[str, Any]:
    p = view.policy
    return {
        "for_not_following": p.for_not_following,
        "for_not_followers": p.for_not_followers,
        "for_new_accounts": p.for_new_accounts,
        "for_private_mentions": p.for_private_mentions,
        "for_limited_accounts": p.for_limited_accounts,
        "summary": _summary(view),
    }


def policy_v1_json(view: PolicyView) -> dict[str, Any]:
    p = view.policy
    return {
        "filter_not_following": p.for_not_following != "accept",
        "filter_not_followers": p.for_not_followers != "accept",
        "filter_new_accounts": p.for_new_accounts != "accept",
        "filter_private_mentions": p.for_private_mentions != "accept",
        "summary": _summary(view),
    }
