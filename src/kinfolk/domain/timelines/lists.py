"""Lists: their rules (titles, replies policy, exclusive) and membership.

Only followed accounts (or oneself) can be members, as in Mastodon; the membership keeps the
follow's id, so that unfollowing removes the account from one's lists through the foreign key.
Copying a new member's recent statuses into the list feed, or taking a former member's out, is
work for a job, not for the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.timelines.models import List
from kinfolk.domain.timelines.repo import lists as repo
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.paging import Page

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 50
MAX_TITLE = 255
# Recent statuses of a new member copied into the list feed.
MERGE_LIMIT = 400


@dataclass(frozen=True)
class ListParams:
    """What a create or update asks for; None leaves a value as it is (or at its default)."""

    title: str | None = None
    replies_policy: str | None = None
    exclusive: bool | None = None


def _validate(params: ListParams, *, creating: bool) -> None:
    if creating or params.title is not None:
        if not (params.title or "").strip():
            raise Unprocessable(
                "Validation failed: Title can't be blank",
                details={"title": [{"error": "ERR_BLANK", "description": "can't be blank"}]},
            )
        if len(params.title or "") > MAX_TITLE:
            raise Unprocessable(f"Validation failed: Title is too long (maximum is {MAX_TITLE} characters)")
    if params.replies_policy is not None and params.replies_policy not in REPLIES_POLICIES:
        raise Unprocessable(
            "Validation failed: Replies policy is not included in the list",
            details={
                "replies_policy": [{"error": "ERR_INCLUSION", "description": "is not included in the list"}]
            },
        )


async def get_list(session: AsyncSession, owner_id: int, list_id: int) -> List:
    found = await repo.get_list(session, owner_id, list_id)
    if found is None:
        raise NotFound()
    return found


async def lists_of(session: AsyncSession, owner_id: int) -> list[List]:
    return await repo.lists_of(session, owner_id)


async def create_list(uow: UnitOfWork, owner: Account, params: ListParams) -> List:
    _validate(params, creating=True)
    if await repo.count_lists(uow.session, owner.id) >= MAX_LISTS:
        raise Unprocessable("Validation failed: You have reached the maximum number of lists")
    created = List(
        account_id=owner.id,
        title=(params.title or "").strip(),
        replies_policy=params.replies_policy or "list",
        exclusive=bool(params.exclusive),
    )
    uow.session.add(created)
    await uow.session.flush()
    return created


async def update_list(uow: UnitOfWork, owner: Account, list_id: int, params: ListParams) -> List:
    found = await get_list(uow.session, owner.id, list_id)
    _validate(params, creating=False)
    if params.title is not None:
        found.title = params.title.strip()
    if params.replies_policy is not None:
        found.replies_policy = params.replies_policy
    if params.exclusive is not None:
        found.exclusive = params.exclusive
    await uow.session.flush()
    return found


async def delete_list(uow: UnitOfWork, owner: Account, list_id: int) -> None:
    found = await get_list(uow.session, owner.id, list_id)
    await repo.delete_list(uow.session, found.id)


async def members(session: AsyncSession, owner: Account, list_id: int, page: Page | None) -> list[Account]:
    found = await get_list(session, owner.id, list_id)
    return await repo.member_page(session, found.id, page)


async def _accounts(session: AsyncSession, ids: Sequence[int]) -> list[Account]:
    """The accounts asked for, all of them or a 404, as Mastodon's `Account.find(ids)`."""
    wanted = list(dict.fromkeys(ids))
    found = await repo.accounts_by_id(session, wanted)
    if len(found) != len(wanted):
        raise NotFound()
    return [found[i] for i in wanted]


async def add_members(uow: UnitOfWork, owner: Account, list_id: int, account_ids: Sequence[int]) -> None:
    session = uow.session
    found = await get_list(session, owner.id, list_id)
    accounts = await _accounts(session, account_ids)
    follows = await repo.follow_ids(session, owner.id, [a.id for a in accounts])
    wanted: dict[int, int | None] = {}
    for account in accounts:
        if account.id != owner.id and account.id not in follows:
            raise Unprocessable(
                "Validation failed: Account must be a followed account",
                details={
                    "account_id": [{"error": "ERR_INVALID", "description": "must be a followed account"}]
                },
            )
        wanted[account.id] = follows.get(account.id)
    added = await repo.add_members(session, found.id, wanted)
    if len(added) != len(wanted):
        raise Unprocessable(
            "Validation failed: Account is already on the list",
            details={"account_id": [{"error": "ERR_TAKEN", "description": "is already on the list"}]},
        )
    for account_id in added:
        await uow.enqueue("lists.merge", {"list_id": found.id, "account_id": account_id})


async def remove_members(uow: UnitOfWork, owner: Account, list_id: int, account_ids: Sequence[int]) -> None:
    session = uow.session
    found = await get_list(session, owner.id, list_id)
    removed = await repo.remove_members(session, found.id, list(dict.fromkeys(account_ids)))
    for account_id in removed:
        await uow.enqueue("lists.unmerge", {"list_id": found.id, "account_id": account_id})


async def lists_with(session: AsyncSession, owner: Account, account_id: int) -> list[List]:
    """The owner's lists that hold `account_id` (404 for an unknown account)."""
    await _accounts(session, [account_id])
    return await repo.lists_with_member(session, owner.id, account_id)


async def merge(session: AsyncSession, list_id: int, account_id: int) -> int:
    """A job: copy a member's recent statuses in, if it is still a member."""
    found = await session.get(List, list_id)
    if found is None or not await repo.is_member(session, list_id, account_id):
        return 0
    return await repo.merge_member(session, found, account_id, MERGE_LIMIT)


async def unmerge(session: AsyncSession, list_id: int, account_id: int) -> int:
    """A job: take a former member's statuses out, unless it came back meanwhile."""
    if await repo.is_member(session, list_id, account_id):
        return 0
    return await repo.unmerge_member(session, list_id, account_id)
