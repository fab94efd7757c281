"""All SQL for reports."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance.models import Rule
from kinfolk.domain.moderation.models import Report
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.visibility import account_exists, visible_to


async def get_report(session: AsyncSession, report_id: int) -> Report | None:
    return await session.get(Report, report_id)


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    """An account that exists for the outside (not one awaiting approval)."""
    result = await session.execute(select(Account).where(Account.id == account_id, account_exists()))
    return result.scalar_one_or_none()


async def reportable_status_ids(
    session: AsyncSession, target_id: int, ids: Sequence[int], reporter_id: int
) -> set[int]:
    """Those of `ids` that are statuses by the target which the reporter can see."""
    if not ids:
        return set()
    rows = await session.execute(
        select(Status.id).where(
            Status.id.in_(list(ids)), Status.account_id == target_id, visible_to(reporter_id)
        )
    )
    return set(rows.scalars())


async def existing_rule_ids(session: AsyncSession, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    rows = await session.execute(select(Rule.id).where(Rule.id.in_(list(ids)), Rule.deleted_at.is_(None)))
    return set(rows.scalars())


async def add_report(session: AsyncSession, report: Report) -> None:
    session.add(report)
    await session.flush()


async def has_open_siblings(session: AsyncSession, report: Report) -> bool:
    """Another unresolved report against the same account, filed before this one."""
    row = await session.execute(
        select(Report.id)
        .where(
            Report.target_account_id == report.target_account_id,
            Report.id != report.id,
            Report.id < report.id,
            Report.action_taken_at.is_(None),
        )
        .limit(1)
    )
    return row.first() is not None
