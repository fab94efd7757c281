"""Mastodon's Notification entity (v1), for a page rendered in a fixed number of queries.

The domain loads everything a page points at (senders, statuses the viewer may see, reports);
here each kind is rendered once for the whole page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.report import report_json
from kinfolk.api.entities.status import render_statuses
from kinfolk.container import Container
from kinfolk.domain.notifications.listing import Loaded
from kinfolk.domain.notifications.models import Notification
from kinfolk.kernel.clock import iso


async def render_loaded(
    session: AsyncSession, container: Container, loaded: Loaded, viewer_id: int
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Accounts, statuses and reports of a page, rendered, by id."""
    accounts = list(loaded.accounts.values())
    account_bodies = dict(
        zip([a.id for a in accounts], await render_accounts(session, accounts, container), strict=True)
    )
    statuses = list(loaded.statuses.values())
    status_bodies = dict(
        zip(
            [s.id for s in statuses],
            await render_statuses(session, container, statuses, viewer_id, filters=loaded.filter_results),
            strict=True,
        )
    )
    report_bodies = {
        r.id: report_json(r, account_bodies[r.target_account_id])
        for r in loaded.reports.values()
        if r.target_account_id in account_bodies
    }
    return account_bodies, status_bodies, report_bodies


def notification_json(
    notification: Notification,
    account: dict[str, Any],
    status: dict[str, Any] | None,
    report: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(notification.id),
        "type": notification.type,
        "created_at": iso(notification.created_at),
        "group_key": notification.group_key,
    }
    if notification.filtered:
        body["filtered"] = True
    body["account"] = account
    if status is not None:
        body["status"] = status
    if report is not None:
        body["report"] = report
    return body


async def render_notifications(
    session: AsyncSession,
    container: Container,
    notifications: list[Notification],
    loaded: Loaded,
    viewer_id: int,
) -> list[dict[str, Any]]:
    accounts, statuses, reports = await render_loaded(session, container, loaded, viewer_id)
    out = []
    for n in notifications:
        account = accounts.get(n.from_account_id)
        if account is None:
            continue
        status = statuses.get(n.status_id) if n.status_id is not None else None
        report = reports.get(n.report_id) if n.report_id is not None else None
        out.append(notification_json(n, account, status, report))
    return out
