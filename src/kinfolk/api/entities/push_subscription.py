"""Mastodon's WebPushSubscription entity."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.notifications.models import PushSubscription


def push_subscription_json(subscription: PushSubscription, server_key: str) -> dict[str, Any]:
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "standard": subscription.standard,
        "alerts": dict(subscription.alerts or {}),
        "server_key": server_key,
        "policy": subscription.policy,
    }
