"""The Conversation entity: a direct-message thread as one participant sees it.

A page renders in a fixed number of queries: last statuses and participants are loaded once
for the whole page and rendered with the batch renderers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.status import render_statuses
from kinfolk.container import Container
from kinfolk.domain.timelines.models import AccountConversation
from kinfolk.domain.timelines.repo import conversations as repo


async def render_conversations(
    session: AsyncSession, container: Container, rows: list[AccountConversation], viewer_id: int
) -> list[dict[str, Any]]:
    if not rows:
        return []
    statuses = await repo.statuses_by_id(session, [r.last_status_id for r in rows if r.last_status_id])
    # With nobody else left in it, a conversation shows its owner (as Mastodon does).
    participant_ids = {i for r in rows for i in (r.participant_account_ids or [r.account_id])}
    accounts = await repo.accounts_by_id(session, sorted(participant_ids))
    account_list = list(accounts.values())
    rendered_accounts = dict(
        zip(
            [a.id for a in account_list], await render_accounts(session, account_list, container), strict=True
        )
    )
    status_list = [s for s in statuses.values() if s.deleted_at is None]
    rendered_statuses = dict(
        zip(
            [s.id for s in status_list],
            await render_statuses(session, container, status_list, viewer_id),
            strict=True,
        )
    )
    return [
        {
            "id": str(row.id),
            "unread": row.unread,
            "accounts": [
                rendered_accounts[i]
                for i in (row.participant_account_ids or [row.account_id])
                if i in rendered_accounts
            ],
            "last_status": rendered_statuses.get(row.last_status_id) if row.last_status_id else None,
        }
        for row in rows
    ]


async def render_conversation(
    session: AsyncSession, container: Container, row: AccountConversation, viewer_id: int
) -> dict[str, Any]:
    return (await render_conversations(session, container, [row], viewer_id))[0]
