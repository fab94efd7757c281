"""All SQL for accounts and users."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.relationships.models import FollowRequest
from kinfolk.domain.relationships.repo import not_excluded_by


def acct_key(username: str, domain: str | None) -> str:
    return f"{username.lower()}@{(domain or '').lower()}"


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def get_by_username(session: AsyncSession, username: str, domain: str | None = None) -> Account | None:
    result = await session.execute(select(Account).where(Account.acct_key == acct_key(username, domain)))
    return result.scalar_one_or_none()


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == email.strip().lower()))
    return result.scalar_one_or_none()


async def get_user_for_account(session: AsyncSession, account_id: int) -> User | None:
    result = await session.execute(select(User).where(User.account_id == account_id))
    return result.scalar_one_or_none()


async def get_stats(session: AsyncSession, account_ids: list[int]) -> dict[int, AccountStats]:
    if not account_ids:
        return {}
    result = await session.execute(select(AccountStats).where(AccountStats.account_id.in_(account_ids)))
    return {row.account_id: row for row in result.scalars()}


async def get_accounts(session: AsyncSession, account_ids: list[int]) -> dict[int, Account]:
    if not account_ids:
        return {}
    result = await session.execute(select(Account).where(Account.id.in_(account_ids)))
    return {row.id: row for row in result.scalars()}


async def count_local_users(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).select_from(User).where(User.approved.is_(True), User.disabled.is_(False))
    )
    return int(result.scalar_one())


async def list_local(session: AsyncSession) -> list[tuple[Account, User]]:
    result = await session.execute(
        select(Account, User).join(User, User.account_id == Account.id).order_by(Account.id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def local_accounts_without_uri(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, username) of local accounts whose addresses were never stored."""
    rows = await session.execute(
        select(Account.id, Account.username).where(Account.domain.is_(None), Account.uri.is_(None))
    )
    return [(account_id, username) for account_id, username in rows.all()]


async def set_addresses(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """Write `uri`, `url` and the collection URLs of accounts, one dict (with its `id`) each."""
    await session.execute(update(Account), rows)


async def get_by_acct_keys(session: AsyncSession, keys: list[str]) -> list[Account]:
    """Accounts by `acct_key` (`lower(username)@domain`, `@` alone for local) in one query."""
    if not keys:
        return []
    result = await session.execute(select(Account).where(Account.acct_key.in_(keys)))
    return list(result.scalars())


async def get_users_for_accounts(session: AsyncSession, account_ids: list[int]) -> dict[int, User]:
    if not account_ids:
        return {}
    result = await session.execute(select(User).where(User.account_id.in_(account_ids)))
    return {row.account_id: row for row in result.scalars()}


async def get_account_with_user(session: AsyncSession, account_id: int) -> tuple[Account, User | None] | None:
    result = await session.execute(
        select(Account, User).outerjoin(User, User.account_id == Account.id).where(Account.id == account_id)
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


async def get_by_username_with_user(
    session: AsyncSession, username: str, domain: str | None = None
) -> tuple[Account, User | None] | None:
    result = await session.execute(
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.acct_key == acct_key(username, domain))
    )
    row = result.first()
    return None if row is None else (row[0], row[1])


async def count_follow_requests(session: AsyncSession, target_account_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(FollowRequest)
        .where(FollowRequest.target_account_id == target_account_id)
    )
    return int(result.scalar_one())


async def directory(
    session: AsyncSession,
    *,
    local_only: bool,
    order: Literal["active", "new"],
    offset: int,
    limit: int,
    viewer_id: int | None,
    now: datetime,
) -> list[Account]:
    """Profiles that chose to be listed: discoverable, neither suspended nor limited, and (for
    local ones) approved and confirmed; minus those the viewer blocks, mutes or is blocked by."""
    stmt = (
        select(Account)
        .outerjoin(AccountStats, AccountStats.account_id == Account.id)
        .outerjoin(User, User.account_id == Account.id)
        .where(
            Account.discoverable.is_(True),
            Account.suspended_at.is_(None),
            Account.silenced_at.is_(None),
            or_(
                Account.domain.is_not(None),
                and_(User.approved.is_(True), User.confirmed_at.is_not(None)),
            ),
        )
    )
    if local_only:
        stmt = stmt.where(Account.domain.is_(None))
    if viewer_id is not None:
        stmt = stmt.where(not_excluded_by(viewer_id, now))
    if order == "new":
        stmt = stmt.order_by(Account.id.desc())
    else:
        stmt = stmt.order_by(AccountStats.last_status_at.desc().nulls_last(), Account.id.desc())
    result = await session.execute(stmt.offset(offset).limit(limit))
    return list(result.scalars())
