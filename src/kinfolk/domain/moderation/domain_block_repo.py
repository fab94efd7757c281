"""All SQL for domain blocks (kept beside `repo.py`, which holds the reports')."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.models import DomainBlock


async def blocks_for(session: AsyncSession, candidates: Sequence[str]) -> list[DomainBlock]:
    """The blocks on any of `candidates` (a domain and its parents): one indexed lookup."""
    result = await session.execute(select(DomainBlock).where(DomainBlock.domain.in_(list(candidates))))
    return list(result.scalars())


async def get_block(session: AsyncSession, domain: str) -> DomainBlock | None:
    result = await session.execute(select(DomainBlock).where(DomainBlock.domain == domain))
    return result.scalar_one_or_none()


async def all_blocks(session: AsyncSession) -> list[DomainBlock]:
    result = await session.execute(select(DomainBlock).order_by(DomainBlock.domain))
    return list(result.scalars())


def _covered(domain: str) -> ColumnElement[bool]:
    """Accounts on `domain` or any of its subdomains, whatever their port: by their handle's
    domain, and by the host of their actor id (a handle on another domain does not take an
    actor out from under a block of the server that serves it)."""
    literal = domain.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return and_(
        Account.domain.is_not(None),
        or_(
            Account.domain == domain,
            *(
                Account.domain.like(pattern.format(literal), escape="\\")
                for pattern in ("%.{}", "{}:%", "%.{}:%")
            ),
            *(
                Account.uri.like(f"{scheme}://{pattern.format(literal)}", escape="\\")
                for scheme in ("http", "https")
                for pattern in ("{}/%", "{}:%", "%.{}/%", "%.{}:%")
            ),
        ),
    )


async def mark_accounts(
    session: AsyncSession, domain: str, *, suspended: datetime | None, silenced: datetime | None
) -> None:
    """Suspend or silence the accounts a block covers, stamping them with the block's time (so that
    lifting the block undoes exactly what it did, and no moderator's own action)."""
    if suspended is not None:
        await session.execute(
            update(Account)
            .where(_covered(domain), Account.suspended_at.is_(None))
            .values(suspended_at=suspended)
            .execution_options(synchronize_session=False)
        )
    if silenced is not None:
        await session.execute(
            update(Account)
            .where(_covered(domain), Account.silenced_at.is_(None))
            .values(silenced_at=silenced)
            .execution_options(synchronize_session=False)
        )


async def unmark_accounts(session: AsyncSession, domain: str, stamp: datetime) -> None:
    """Undo `mark_accounts` for the accounts stamped with `stamp`."""
    await session.execute(
        update(Account)
        .where(_covered(domain), Account.suspended_at == stamp)
        .values(suspended_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Account)
        .where(_covered(domain), Account.silenced_at == stamp)
        .values(silenced_at=None)
        .execution_options(synchronize_session=False)
    )
