"""All SQL for the instance area: rules, and the aggregate counts the discovery endpoints publish.

Counts are single aggregate queries: these endpoints are polled by every client at start-up and
by crawlers, and must not grow with the number of accounts loaded into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.instance.models import Rule
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.ids import id_floor_for_ms

# --- rules -------------------------------------------------------------------------------------


async def list_rules(session: AsyncSession) -> list[Rule]:
    result = await session.execute(
        select(Rule).where(Rule.deleted_at.is_(None)).order_by(Rule.position, Rule.id)
    )
    return list(result.scalars())


async def get_rule(session: AsyncSession, rule_id: int) -> Rule | None:
    result = await session.execute(select(Rule).where(Rule.id == rule_id, Rule.deleted_at.is_(None)))
    return result.scalar_one_or_none()


async def max_rule_position(session: AsyncSession) -> int | None:
    result = await session.execute(select(func.max(Rule.position)).where(Rule.deleted_at.is_(None)))
    value = result.scalar_one_or_none()
    return None if value is None else int(value)


# --- users and accounts ------------------------------------------------------------------------


def _counted_user() -> ColumnElement[bool]:
    """A person who can use the server: approved, confirmed, not disabled, account not suspended."""
    return and_(
        User.approved.is_(True),
        User.disabled.is_(False),
        User.confirmed_at.is_not(None),
        Account.suspended_at.is_(None),
    )


@dataclass(frozen=True)
class UserCounts:
    total: int
    active_month: int
    active_halfyear: int


async def user_counts(
    session: AsyncSession, *, month_start: datetime, halfyear_start: datetime
) -> UserCounts:
    """Local users, and those who signed in (or joined) since each cut-off, in one query."""

    def active_since(cutoff: datetime) -> ColumnElement[int]:
        recent = (User.last_sign_in_at >= cutoff) | (User.created_at >= cutoff)
        return func.coalesce(func.sum(case((recent, 1), else_=0)), 0)

    result = await session.execute(
        select(func.count(User.id), active_since(month_start), active_since(halfyear_start))
        .select_from(User)
        .join(Account, Account.id == User.account_id)
        .where(_counted_user())
    )
    total, month, halfyear = result.one()
    return UserCounts(int(total), int(month), int(halfyear))


async def local_status_count(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.coalesce(func.sum(AccountStats.statuses_count), 0))
        .select_from(AccountStats)
        .join(Account, Account.id == AccountStats.account_id)
        .where(Account.domain.is_(None))
    )
    return int(result.scalar_one())


async def remote_domain_count(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count(func.distinct(Account.domain))).where(Account.domain.is_not(None))
    )
    return int(result.scalar_one())


async def remote_domains(session: AsyncSession) -> list[str]:
    result = await session.execute(
        select(Account.domain).where(Account.domain.is_not(None)).distinct().order_by(Account.domain)
    )
    return [str(domain) for domain in result.scalars()]


async def get_local_account(session: AsyncSession, username: str) -> Account | None:
    result = await session.execute(
        select(Account).where(Account.acct_key == f"{username.lower()}@", Account.domain.is_(None))
    )
    return result.scalar_one_or_none()


async def first_owner_account(session: AsyncSession) -> Account | None:
    result = await session.execute(
        select(Account)
        .join(User, User.account_id == Account.id)
        .where(User.role == "owner", Account.suspended_at.is_(None))
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


# --- weekly activity ---------------------------------------------------------------------------


def _bucket_sums(column: Any, edges: Sequence[Any]) -> list[ColumnElement[int]]:
    """One SUM(CASE ...) per [edges[i], edges[i+1]) window, so all weeks come from one scan."""
    return [
        func.coalesce(func.sum(case(((column >= lo) & (column < hi), 1), else_=0)), 0)
        for lo, hi in pairwise(edges)
    ]


async def weekly_user_activity(
    session: AsyncSession, edges: Sequence[datetime]
) -> tuple[list[int], list[int]]:
    """Registrations (users created) and logins (users whose last sign-in falls in the week).

    Only the latest sign-in of each user is kept, so logins are a lower bound: a person who
    signed in every week counts in the most recent one.
    """
    n = len(edges) - 1
    if n <= 0:
        return [], []
    result = await session.execute(
        select(*_bucket_sums(User.created_at, edges), *_bucket_sums(User.last_sign_in_at, edges))
        .select_from(User)
        .join(Account, Account.id == User.account_id)
        .where(Account.domain.is_(None))
    )
    row = [int(v) for v in result.one()]
    return row[:n], row[n:]


async def weekly_local_statuses(session: AsyncSession, edges: Sequence[datetime]) -> list[int]:
    """Local statuses written in each week (boosts are not writing), deleted ones included.

    Local status ids are snowflakes made when the status is written, so each week is a range of
    the primary key: the scan stays on the index however large the table grows.
    """
    n = len(edges) - 1
    if n <= 0:
        return []
    bounds = [id_floor_for_ms(int(edge.timestamp() * 1000)) for edge in edges]
    result = await session.execute(
        select(*_bucket_sums(Status.id, bounds)).where(
            Status.id >= bounds[0],
            Status.id < bounds[-1],
            Status.local.is_(True),
            Status.reblog_of_id.is_(None),
        )
    )
    return [int(v) for v in result.one()]


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))
