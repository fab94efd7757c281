"""Queries for operators: list jobs (dead ones with their last error), retry, and prune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, delete, func, select

from kinfolk.jobs.models import DEAD, DONE, QUEUED, Job
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from kinfolk.db.database import UnitOfWork

KEEP_DONE = timedelta(days=7)
KEEP_DEAD = timedelta(days=90)
RETRYABLE_STATES = (DEAD, QUEUED)


async def list_jobs(
    session: AsyncSession, *, state: str | None = None, kind: str | None = None, limit: int = 50
) -> list[Job]:
    """Newest first; dead jobs by when they died, so the latest failures come first."""
    stmt = select(Job)
    if state is not None:
        stmt = stmt.where(Job.state == state)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    order = Job.finished_at.desc() if state == DEAD else Job.id.desc()
    stmt = stmt.order_by(order, Job.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Job.state, func.count()).group_by(Job.state))
    return {state: count for state, count in rows}


async def get_job(session: AsyncSession, job_id: int) -> Job | None:
    return await session.get(Job, job_id)


@dataclass(frozen=True)
class RetryOutcome:
    job: Job | None
    error: str | None = None


async def retry_job(uow: UnitOfWork, job_id: int, *, now: datetime | None = None) -> RetryOutcome:
    """Queue a dead (or waiting) job to run now with a fresh set of attempts.

    The last error is kept until the next attempt overwrites it, so the operator can still see
    why it died.
    """
    job = await uow.session.get(Job, job_id, with_for_update=True)
    if job is None:
        return RetryOutcome(None, f"no job with id {job_id}")
    if job.state not in RETRYABLE_STATES:
        return RetryOutcome(job, f"job {job_id} is {job.state}; only dead or queued jobs can be retried")
    job.state = QUEUED
    job.run_at = now or utcnow()
    job.attempts = 0
    job.lease_until = None
    job.locked_by = None
    job.finished_at = None
    uow.note_enqueued(job.queue)
    return RetryOutcome(job)


@dataclass(frozen=True)
class PruneResult:
    done: int
    dead: int


async def prune_finished(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    keep_done: timedelta = KEEP_DONE,
    keep_dead: timedelta = KEEP_DEAD,
) -> PruneResult:
    """Delete done jobs after a week and dead ones after three months (long enough to look)."""
    now = now or utcnow()
    finished = func.coalesce(Job.finished_at, Job.created_at)
    done = await session.execute(delete(Job).where(Job.state == DONE, finished < now - keep_done))
    dead = await session.execute(delete(Job).where(Job.state == DEAD, finished < now - keep_dead))
    return PruneResult(
        done=cast(CursorResult[Any], done).rowcount, dead=cast(CursorResult[Any], dead).rowcount
    )
