"""Direct-message conversations as each participant sees them (`account_conversations`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.timelines.models import AccountConversation
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id
from kinfolk.kernel.paging import Page


async def local_accounts(session: AsyncSession, account_ids: Sequence[int]) -> list[int]:
    """Those of `account_ids` that have a local user (only they keep conversations here)."""
    if not account_ids:
        return []
    result = await session.execute(select(User.account_id).where(User.account_id.in_(list(account_ids))))
    return list(result.scalars())


async def mentioned(session: AsyncSession, status_id: int) -> list[int]:
    result = await session.execute(select(Mention.account_id).where(Mention.status_id == status_id))
    return list(result.scalars())


async def locked_row(session: AsyncSession, account_id: int, conversation_id: int) -> AccountConversation:
    """The account's row for the conversation, created if missing and locked for update."""
    await session.execute(
        insert_for(session, AccountConversation)
        .values(
            id=new_id(),
            account_id=account_id,
            conversation_id=conversation_id,
            participant_account_ids=[],
            last_status_id=None,
            unread=False,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    result = await session.execute(
        select(AccountConversation)
        .where(
            AccountConversation.account_id == account_id,
            AccountConversation.conversation_id == conversation_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def rows_for(
    session: AsyncSession, conversation_id: int, account_ids: Sequence[int]
) -> list[AccountConversation]:
    if not account_ids:
        return []
    result = await session.execute(
        select(AccountConversation).where(
            AccountConversation.conversation_id == conversation_id,
            AccountConversation.account_id.in_(list(account_ids)),
        )
    )
    return list(result.scalars())


async def latest_direct_status(session: AsyncSession, conversation_id: int, account_id: int) -> int | None:
    """The newest live direct status of the conversation that the account wrote or was sent."""
    result = await session.execute(
        select(func.max(Status.id)).where(
            Status.conversation_id == conversation_id,
            Status.visibility == "direct",
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
            or_(
                Status.account_id == account_id,
                exists().where(Mention.status_id == Status.id, Mention.account_id == account_id),
            ),
        )
    )
    value = result.scalar_one_or_none()
    return int(value) if value is not None else None


async def delete_row(session: AsyncSession, row_id: int) -> None:
    await session.execute(delete(AccountConversation).where(AccountConversation.id == row_id))


async def get_row(session: AsyncSession, account_id: int, row_id: int) -> AccountConversation | None:
    result = await session.execute(
        select(AccountConversation).where(
            AccountConversation.id == row_id, AccountConversation.account_id == account_id
        )
    )
    return result.scalar_one_or_none()


async def page_of(session: AsyncSession, account_id: int, page: Page) -> list[AccountConversation]:
    """Paged by the last status id, as Mastodon pages conversations."""
    stmt = select(AccountConversation).where(
        AccountConversation.account_id == account_id, AccountConversation.last_status_id.is_not(None)
    )
    result = await session.execute(page.apply(stmt, AccountConversation.last_status_id))
    return page.arrange(list(result.scalars()))


async def statuses_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Status]:
    if not ids:
        return {}
    result = await session.execute(select(Status).where(Status.id.in_(list(ids))))
    return {s.id: s for s in result.scalars()}


async def accounts_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Account]:
    if not ids:
        return {}
    result = await session.execute(select(Account).where(Account.id.in_(list(ids))))
    return {a.id: a for a in result.scalars()}
