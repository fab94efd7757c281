"""All SQL for statuses and their satellites (counters, mentions, edits, interactions)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.statuses.models import (
    Bookmark,
    ConversationMute,
    Favourite,
    IdempotencyKey,
    Mention,
    ScheduledStatus,
    Status,
    StatusEdit,
    StatusPin,
    StatusStats,
)


async def get_status(session: AsyncSession, status_id: int) -> Status | None:
    status = await session.get(Status, status_id)
    return status if status is not None and status.deleted_at is None else None


async def get_statuses(session: AsyncSession, ids: list[int]) -> dict[int, Status]:
    if not ids:
        return {}
    result = await session.execute(select(Status).where(Status.id.in_(ids), Status.deleted_at.is_(None)))
    return {s.id: s for s in result.scalars()}


async def find_reblog(session: AsyncSession, account_id: int, status_id: int) -> Status | None:
    result = await session.execute(
        select(Status).where(
            Status.account_id == account_id, Status.reblog_of_id == status_id, Status.deleted_at.is_(None)
        )
    )
    return result.scalars().first()


async def bump_status_stat(session: AsyncSession, status_id: int, column: str, delta: int) -> None:
    """Add `delta` to one counter of a status, never below 0, in one statement: the counters
    row is made by the first change (a new status has none)."""
    col = getattr(StatusStats, column)
    floor = func.max if session.bind is not None and session.bind.dialect.name == "sqlite" else func.greatest
    await session.execute(
        insert_for(session, StatusStats)
        .values({"status_id": status_id, column: max(delta, 0)})
        .on_conflict_do_update(index_elements=["status_id"], set_={column: floor(col + delta, 0)})
    )


async def bump_account_statuses(
    session: AsyncSession, account_id: int, delta: int, *, touch: bool
) -> AccountStats | None:
    """Count a status more or less on its author; returns the counters as they now are (the
    post's response renders them without reading them again)."""
    from kinfolk.kernel.clock import utcnow

    values: dict[str, object] = {"statuses_count": AccountStats.statuses_count + delta}
    if touch:
        values["last_status_at"] = utcnow()
    result = await session.execute(
        update(AccountStats)
        .where(AccountStats.account_id == account_id)
        .values(values)
        .returning(AccountStats)
        .execution_options(synchronize_session=False)
    )
    return result.scalars().first()


async def mentions_for(
    session: AsyncSession, status_ids: list[int]
) -> dict[int, list[tuple[Mention, Account]]]:
    if not status_ids:
        return {}
    result = await session.execute(
        select(Mention, Account)
        .join(Account, Account.id == Mention.account_id)
        .where(Mention.status_id.in_(status_ids))
        .order_by(Mention.id)
    )
    out: dict[int, list[tuple[Mention, Account]]] = {}
    for mention, account in result.all():
        out.setdefault(mention.status_id, []).append((mention, account))
    return out


async def replace_mentions(
    session: AsyncSession, status_id: int, account_ids: list[int], *, new: bool = False
) -> None:
    """Make the status mention exactly `account_ids`; a `new` status has none to compare with."""
    current: set[int] = set()
    if not new:
        result = await session.execute(select(Mention.account_id).where(Mention.status_id == status_id))
        current = set(result.scalars())
    wanted = list(dict.fromkeys(account_ids))
    for account_id in current - set(wanted):
        await session.execute(
            delete(Mention).where(Mention.status_id == status_id, Mention.account_id == account_id)
        )
    for account_id in wanted:
        if account_id not in current:
            session.add(Mention(status_id=status_id, account_id=account_id))


async def edits_for(session: AsyncSession, status_id: int) -> list[StatusEdit]:
    result = await session.execute(
        select(StatusEdit).where(StatusEdit.status_id == status_id).order_by(StatusEdit.id)
    )
    return list(result.scalars())


async def find_idempotency(session: AsyncSession, account_id: int, key: str) -> IdempotencyKey | None:
    result = await session.execute(
        select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )
    return result.scalar_one_or_none()


async def interaction_exists(session: AsyncSession, model: type, account_id: int, status_id: int) -> bool:
    result = await session.execute(
        select(model.id).where(model.account_id == account_id, model.status_id == status_id)  # type: ignore[attr-defined]
    )
    return result.first() is not None


async def add_interaction(session: AsyncSession, model: type, account_id: int, status_id: int) -> int | None:
    """Insert a favourite/bookmark/pin row; its id, or None if it already existed (idempotent)."""
    from kinfolk.kernel.ids import new_id

    result = await session.execute(
        insert_for(session, model)
        .values(id=new_id(), account_id=account_id, status_id=status_id)
        .on_conflict_do_nothing(index_elements=["account_id", "status_id"])
        .returning(model.id)  # type: ignore[attr-defined]
    )
    return result.scalar_one_or_none()


async def remove_interaction(
    session: AsyncSession, model: type, account_id: int, status_id: int
) -> int | None:
    """Delete the row; its id, or None if there was none."""
    result = await session.execute(
        model.__table__.delete()  # type: ignore[attr-defined]
        .where(model.account_id == account_id, model.status_id == status_id)  # type: ignore[attr-defined]
        .returning(model.id)  # type: ignore[attr-defined]
    )
    return result.scalar_one_or_none()


async def count_pins(session: AsyncSession, account_id: int) -> int:
    result = await session.execute(
        select(func.count()).select_from(StatusPin).where(StatusPin.account_id == account_id)
    )
    return int(result.scalar_one())


async def conversation_muted(session: AsyncSession, account_id: int, conversation_id: int | None) -> bool:
    if conversation_id is None:
        return False
    result = await session.execute(
        select(ConversationMute.id).where(
            ConversationMute.account_id == account_id, ConversationMute.conversation_id == conversation_id
        )
    )
    return result.first() is not None


__all__ = ["Bookmark", "Favourite", "StatusPin"]


async def held_media_ids(session: AsyncSession, account_id: int) -> set[int]:
    """Media that the account's scheduled posts hold: not attachable elsewhere until posted
    (at most 300 rows, Mastodon's limit of scheduled posts per account)."""
    rows = await session.execute(
        select(ScheduledStatus.media_attachment_ids).where(ScheduledStatus.account_id == account_id)
    )
    return {int(i) for (ids,) in rows for i in ids or []}
