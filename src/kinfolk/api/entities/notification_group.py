"""Mastodon's GroupedNotificationsResults (v2): groups, with the accounts and statuses they
reference listed once at the top level."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.notification import render_loaded
from kinfolk.container import Container
from kinfolk.domain.notifications.listing import Group, GroupedPage
from kinfolk.kernel.clock import iso

_PARTIAL_KEYS = ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")


def partial_account(full: dict[str, Any]) -> dict[str, Any]:
    """PartialAccountWithAvatar: just enough to draw an avatar in a group's row."""
    body = {key: full[key] for key in _PARTIAL_KEYS if key in full}
    body["avatar_description"] = full.get("avatar_description", "")
    return body


def group_json(group: Group, report: dict[str, Any] | None) -> dict[str, Any]:
    n = group.notification
    body: dict[str, Any] = {
        "group_key": group.key,
        "notifications_count": group.count,
        "type": n.type,
        "most_recent_notification_id": str(group.most_recent_id),
    }
    if group.paginated:
        body["page_min_id"] = str(group.page_min_id if group.page_min_id is not None else n.id)
        body["page_max_id"] = str(group.most_recent_id)
        body["latest_page_notification_at"] = iso(group.latest_page_at or n.created_at)
    body["sample_account_ids"] = [str(a) for a in group.sample_account_ids]
    if n.status_id is not None:
        body["status_id"] = str(n.status_id)
    if report is not None:
        body["report"] = report
    return body


async def render_grouped(
    session: AsyncSession,
    container: Container,
    page: GroupedPage,
    viewer_id: int,
    *,
    partial_avatars: bool = False,
) -> dict[str, Any]:
    accounts, statuses, reports = await render_loaded(session, container, page.loaded, viewer_id)
    full_ids: list[int] = []
    partial_ids: list[int] = []
    for group in page.groups:
        for position, account_id in enumerate(group.sample_account_ids):
            if not partial_avatars or position == 0:
                full_ids.append(account_id)
            else:
                partial_ids.append(account_id)
    full = list(dict.fromkeys(a for a in full_ids if a in accounts))
    partial = [a for a in dict.fromkeys(partial_ids) if a in accounts and a not in set(full)]
    status_ids = list(
        dict.fromkeys(g.notification.status_id for g in page.groups if g.notification.status_id is not None)
    )
    body: dict[str, Any] = {"accounts": [accounts[a] for a in full]}
    if partial_avatars:
        body["partial_accounts"] = [partial_account(accounts[a]) for a in partial]
    body["statuses"] = [statuses[s] for s in status_ids if s in statuses]
    body["notification_groups"] = [
        group_json(g, reports.get(g.notification.report_id) if g.notification.report_id else None)
        for g in page.groups
    ]
    return body
