"""Mastodon's NotificationRequest entity, for a page rendered in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.status import render_statuses
from kinfolk.container import Container
from kinfolk.domain.notifications.policy import RequestPage
from kinfolk.kernel.clock import iso


async def render_requests(
    session: AsyncSession, container: Container, page: RequestPage, viewer_id: int
) -> list[dict[str, Any]]:
    accounts = list(page.accounts.values())
    account_bodies = dict(
        zip([a.id for a in accounts], await render_accounts(session, accounts, container), strict=True)
    )
    statuses = list(page.statuses.values())
    status_bodies = dict(
        zip(
            [s.id for s in statuses],
            await render_statuses(session, container, statuses, viewer_id),
            strict=True,
        )
    )
    out = []
    for request in page.requests:
        account = account_bodies.get(request.from_account_id)
        if account is None:
            continue
        body: dict[str, Any] = {
            "id": str(request.id),
            "created_at": iso(request.created_at),
            "updated_at": iso(request.updated_at),
            # A string in Mastodon's API.
            "notifications_count": str(request.notifications_count),
            "account": account,
        }
        last = status_bodies.get(request.last_status_id) if request.last_status_id is not None else None
        if last is not None:
            body["last_status"] = last
        out.append(body)
    return out
