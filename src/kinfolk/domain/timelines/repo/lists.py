"""Lists and their members, and copying a member's recent statuses into (or out of) a list feed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.models import List, ListAccount, ListFeedEntry
from kinfolk.domain.visibility import account_exists, visible_to
from kinfolk.kernel.paging import Page


async def lists_of(session: AsyncSession, account_id: int) -> list[List]:
    result = await session.execute(select(List).where(List.account_id == account_id).order_by(List.id))
    return list(result.scalars())


async def count_lists(session: AsyncSession, account_id: int) -> int:
    result = await session.execute(
        select(func.count()).select_from(List).where(List.account_id == account_id)
    )
    return int(result.scalar_one())


async def get_list(session: AsyncSession, account_id: int, list_id: int) -> List | None:
    result = await session.execute(select(List).where(List.id == list_id, List.account_id == account_id))
    return result.scalar_one_or_none()


async def delete_list(session: AsyncSession, list_id: int) -> None:
    await session.execute(delete(List).where(List.id == list_id))


async def lists_with_member(session: AsyncSession, owner_id: int, member_id: int) -> list[List]:
    result = await session.execute(
        select(List)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(List.account_id == owner_id, ListAccount.account_id == member_id)
        .order_by(List.id)
    )
    return list(result.scalars())


async def member_page(session: AsyncSession, list_id: int, page: Page | None) -> list[Account]:
    """Members in account id order, newest first; every member when `page` is None."""
    stmt = (
        select(Account)
        .join(ListAccount, ListAccount.account_id == Account.id)
        .where(ListAccount.list_id == list_id, Account.suspended_at.is_(None))
    )
    if page is None:
        result = await session.execute(stmt.order_by(Account.id.desc()))
        return list(result.scalars())
    result = await session.execute(page.apply(stmt, Account.id))
    return page.arrange(list(result.scalars()))


async def accounts_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Account]:
    """The accounts that exist for the outside (not those awaiting approval)."""
    if not ids:
        return {}
    result = await session.execute(select(Account).where(Account.id.in_(list(ids)), account_exists()))
    return {a.id: a for a in result.scalars()}


async def follow_ids(session: AsyncSession, follower_id: int, target_ids: Sequence[int]) -> dict[int, int]:
    """Follow row ids by target, for the targets `follower_id` follows."""
    if not target_ids:
        return {}
    result = await session.execute(
        select(Follow.target_account_id, Follow.id).where(
            Follow.account_id == follower_id, Follow.target_account_id.in_(list(target_ids))
        )
    )
    return {target: follow_id for target, follow_id in result.all()}


async def add_members(session: AsyncSession, list_id: int, members: dict[int, int | None]) -> list[int]:
    """Add accounts (account id -> follow id); returns those that were not members yet."""
    if not members:
        return []
    result = await session.execute(
        insert_for(session, ListAccount)
        .values(
            [
                {"list_id": list_id, "account_id": account_id, "follow_id": follow_id}
                for account_id, follow_id in members.items()
            ]
        )
        .on_conflict_do_nothing()
        .returning(ListAccount.account_id)
    )
    return list(result.scalars())


async def remove_members(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> list[int]:
    if not account_ids:
        return []
    result = await session.execute(
        delete(ListAccount)
        .where(ListAccount.list_id == list_id, ListAccount.account_id.in_(list(account_ids)))
        .returning(ListAccount.account_id)
    )
    return list(result.scalars())


async def is_member(session: AsyncSession, list_id: int, account_id: int) -> bool:
    result = await session.execute(
        select(ListAccount.account_id).where(
            ListAccount.list_id == list_id, ListAccount.account_id == account_id
        )
    )
    return result.first() is not None


async def merge_member(session: AsyncSession, lst: List, member_id: int, limit: int) -> int:
    """Copy the member's recent statuses the owner may see into the list feed (not replies to
    others, which the list's replies policy would have to judge one by one)."""
    recent = (
        select(literal(lst.id), Status.id, Status.account_id)
        .where(
            Status.account_id == member_id,
            Status.deleted_at.is_(None),
            visible_to(lst.account_id),
            (Status.in_reply_to_account_id.is_(None)) | (Status.in_reply_to_account_id == Status.account_id),
        )
        .order_by(Status.id.desc())
        .limit(limit)
    )
    result = await session.execute(
        insert_for(session, ListFeedEntry)
        .from_select(["list_id", "status_id", "origin_account_id"], recent)
        .on_conflict_do_nothing()
        .returning(ListFeedEntry.status_id)
    )
    return len(list(result.scalars()))


async def unmerge_member(session: AsyncSession, list_id: int, member_id: int) -> int:
    result = await session.execute(
        delete(ListFeedEntry)
        .where(ListFeedEntry.list_id == list_id, ListFeedEntry.origin_account_id == member_id)
        .returning(ListFeedEntry.status_id)
    )
    return len(list(result.scalars()))
