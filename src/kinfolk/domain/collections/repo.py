"""SQL for collections and their items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.collections.models import ACCEPTED, LIVE_STATES, PENDING, Collection, CollectionItem
from kinfolk.domain.relationships.models import Block
from kinfolk.kernel.clock import utcnow


async def get_collection(session: AsyncSession, collection_id: int) -> Collection | None:
    result = await session.execute(select(Collection).where(Collection.id == collection_id))
    return result.scalar_one_or_none()


async def count_collections(session: AsyncSession, account_id: int) -> int:
    result = await session.execute(
        select(func.count()).select_from(Collection).where(Collection.account_id == account_id)
    )
    return int(result.scalar_one())


async def collections_of(
    session: AsyncSession, account_id: int, *, discoverable_only: bool, offset: int, limit: int
) -> list[Collection]:
    """An account's collections, newest first; one row more than `limit` tells of a next page."""
    stmt = select(Collection).where(Collection.account_id == account_id)
    if discoverable_only:
        stmt = stmt.where(Collection.discoverable.is_(True))
    result = await session.execute(stmt.order_by(Collection.id.desc()).offset(offset).limit(limit + 1))
    return list(result.scalars())


async def featuring(session: AsyncSession, account_id: int, *, offset: int, limit: int) -> list[Collection]:
    """Collections that feature `account_id` (not revoked), in the order it was added to them."""
    result = await session.execute(
        select(Collection)
        .join(CollectionItem, CollectionItem.collection_id == Collection.id)
        .where(CollectionItem.account_id == account_id, CollectionItem.state.in_(LIVE_STATES))
        .order_by(CollectionItem.id)
        .offset(offset)
        .limit(limit + 1)
    )
    return list(result.scalars())


async def visible_items(
    session: AsyncSession, collection_ids: Sequence[int], viewer_id: int | None
) -> dict[int, list[CollectionItem]]:
    """The items each collection shows `viewer_id`: accepted ones, plus pending ones to the owner;
    never items of suspended accounts or of accounts the viewer blocks. One query."""
    if not collection_ids:
        return {}
    shown = CollectionItem.state == ACCEPTED
    if viewer_id is not None:
        shown = or_(shown, and_(CollectionItem.state == PENDING, Collection.account_id == viewer_id))
    stmt = (
        select(CollectionItem)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .join(Account, Account.id == CollectionItem.account_id)
        .where(CollectionItem.collection_id.in_(list(collection_ids)), shown, Account.suspended_at.is_(None))
        .order_by(CollectionItem.collection_id, CollectionItem.position, CollectionItem.id)
    )
    if viewer_id is not None:
        blocked = select(Block.target_account_id).where(Block.account_id == viewer_id)
        stmt = stmt.where(CollectionItem.account_id.not_in(blocked))
    found: dict[int, list[CollectionItem]] = {cid: [] for cid in collection_ids}
    for item in (await session.execute(stmt)).scalars():
        found[item.collection_id].append(item)
    return found


async def get_item(session: AsyncSession, collection_id: int, item_id: int) -> CollectionItem | None:
    result = await session.execute(
        select(CollectionItem).where(
            CollectionItem.id == item_id, CollectionItem.collection_id == collection_id
        )
    )
    return result.scalar_one_or_none()


async def find_item(session: AsyncSession, collection_id: int, account_id: int) -> CollectionItem | None:
    result = await session.execute(
        select(CollectionItem).where(
            CollectionItem.collection_id == collection_id, CollectionItem.account_id == account_id
        )
    )
    return result.scalar_one_or_none()


async def count_live_items(session: AsyncSession, collection_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(CollectionItem)
        .where(CollectionItem.collection_id == collection_id, CollectionItem.state.in_(LIVE_STATES))
    )
    return int(result.scalar_one())


async def next_position(session: AsyncSession, collection_id: int) -> int:
    result = await session.execute(
        select(func.max(CollectionItem.position)).where(CollectionItem.collection_id == collection_id)
    )
    return int(result.scalar_one_or_none() or 0) + 1


async def insert_item(session: AsyncSession, **values: Any) -> bool:
    """Insert an item unless the account is already in the collection; True if inserted."""
    result = await session.execute(
        insert_for(session, CollectionItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["collection_id", "account_id"])
    )
    return bool(getattr(result, "rowcount", 0))


async def delete_item(session: AsyncSession, item_id: int) -> None:
    await session.execute(delete(CollectionItem).where(CollectionItem.id == item_id))


async def delete_collection(session: AsyncSession, collection_id: int) -> None:
    await session.execute(delete(CollectionItem).where(CollectionItem.collection_id == collection_id))
    await session.execute(delete(Collection).where(Collection.id == collection_id))


async def add_to_item_count(session: AsyncSession, collection_id: int, delta: int) -> None:
    """Adjust the counter in SQL, so concurrent changes to one collection add up."""
    await session.execute(
        update(Collection)
        .where(Collection.id == collection_id)
        .values(item_count=Collection.item_count + delta, updated_at=utcnow())
    )


async def accounts_with_users(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, tuple[Account, User | None]]:
    if not account_ids:
        return {}
    result = await session.execute(
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id.in_(list(account_ids)))
    )
    return {account.id: (account, user) for account, user in result.all()}


async def blocked_either_way(session: AsyncSession, account_id: int, others: Sequence[int]) -> set[int]:
    """Which of `others` block `account_id` or are blocked by it."""
    if not others:
        return set()
    ids = list(others)
    result = await session.execute(
        select(Block.target_account_id)
        .where(Block.account_id == account_id, Block.target_account_id.in_(ids))
        .union(
            select(Block.account_id).where(Block.target_account_id == account_id, Block.account_id.in_(ids))
        )
    )
    return {int(row[0]) for row in result.all()}


async def blocks(session: AsyncSession, account_id: int, target_id: int) -> bool:
    result = await session.execute(
        select(Block.account_id).where(Block.account_id == account_id, Block.target_account_id == target_id)
    )
    return result.first() is not None
