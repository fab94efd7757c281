"""Accounts to follow: the most followed discoverable local accounts, minus dismissed ones."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.suggestions import repo
from kinfolk.kernel.clock import utcnow

SOURCES = ("most_followed",)


async def suggestions(session: AsyncSession, viewer_id: int, limit: int) -> list[Account]:
    return await repo.most_followed(session, viewer_id, utcnow(), limit)


async def dismiss(uow: UnitOfWork, viewer_id: int, target_id: int) -> None:
    """Never suggest `target_id` to the viewer again; unknown accounts are simply ignored."""
    if target_id != viewer_id and await repo.account_exists(uow.session, target_id):
        await repo.dismiss(uow.session, viewer_id, target_id)
