"""The worker's SQL: claim due jobs under a lease, then complete, fail, or release them.

Every write after the claim is fenced on (id, state running, locked_by, attempts): a worker
whose lease expired and whose job was claimed again by someone else can no longer complete or
fail it, so the job's effects commit once, from whichever attempt holds the current lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, CursorResult, select, update

from kinfolk.jobs.models import DEAD, DONE, QUEUED, RUNNING, Job
from kinfolk.jobs.registry import get_kind
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from kinfolk.db.database import Database

# Lease for a kind no handler module registered; the job is buried at once anyway.
DEFAULT_LEASE_SECONDS = 300.0
MAX_ERROR_CHARS = 8000


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    queue: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    worker_id: str
    lease_until: datetime


def truncate_error(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Keep the head (what was called) and the tail (what raised) of a long traceback."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head - 20
    return f"{text[:head]}\n... (truncated) ...\n{text[-tail:]}"


def _in_queues(queues: Sequence[str] | None) -> list[ColumnElement[bool]]:
    return [Job.queue.in_(list(queues))] if queues else []


async def claim(
    db: Database,
    *,
    worker_id: str,
    queues: Sequence[str] | None,
    limit: int,
    now: datetime | None = None,
) -> list[ClaimedJob]:
    """Take up to `limit` due jobs (expired leases first) and mark them running for this worker.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many workers claim at once without waiting on
    or double-taking a row; on SQLite the unit of work's `BEGIN IMMEDIATE` serialises claimers.
    """
    if limit <= 0:
        return []
    now = now or utcnow()
    columns = (Job.id, Job.kind, Job.queue, Job.payload, Job.state, Job.attempts, Job.max_attempts)
    async with db.uow() as uow:
        session = uow.session
        expired = select(*columns).where(Job.state == RUNNING, Job.lease_until < now, *_in_queues(queues))
        expired = expired.order_by(Job.lease_until).limit(limit).with_for_update(skip_locked=True)
        rows = list((await session.execute(expired)).all())
        if len(rows) < limit:
            due = select(*columns).where(Job.state == QUEUED, Job.run_at <= now, *_in_queues(queues))
            due = due.order_by(Job.run_at).limit(limit - len(rows)).with_for_update(skip_locked=True)
            rows.extend((await session.execute(due)).all())
        claimed: list[ClaimedJob] = []
        changes: list[dict[str, Any]] = []
        for row in rows:
            if row.state == RUNNING and row.attempts >= row.max_attempts:
                changes.append(_buried_after_lost_lease(row.id, row.attempts, now))
                continue
            kind = get_kind(row.kind)
            lease_until = now + timedelta(seconds=kind.lease_seconds if kind else DEFAULT_LEASE_SECONDS)
            attempt = row.attempts + 1
            changes.append(
                {
                    "id": row.id,
                    "state": RUNNING,
                    "attempts": attempt,
                    "locked_by": worker_id,
                    "lease_until": lease_until,
                }
            )
            claimed.append(
                ClaimedJob(
                    id=row.id,
                    kind=row.kind,
                    queue=row.queue,
                    payload=dict(row.payload or {}),
                    attempt=attempt,
                    max_attempts=row.max_attempts,
                    worker_id=worker_id,
                    lease_until=lease_until,
                )
            )
        if changes:
            await session.execute(update(Job), changes)
    return claimed


def _buried_after_lost_lease(job_id: int, attempts: int, now: datetime) -> dict[str, Any]:
    """A job whose every attempt ended with its worker vanishing is not tried forever."""
    return {
        "id": job_id,
        "state": DEAD,
        "lease_until": None,
        "finished_at": now,
        "last_error": (
            f"lease expired during attempt {attempts}, the last allowed: the worker died or the "
            "handler ran longer than the kind's lease_seconds"
        ),
    }


def _fenced(job: ClaimedJob) -> list[ColumnElement[bool]]:
    return [
        Job.id == job.id,
        Job.state == RUNNING,
        Job.locked_by == job.worker_id,
        Job.attempts == job.attempt,
    ]


async def _fenced_update(session: AsyncSession, job: ClaimedJob, values: dict[str, Any]) -> bool:
    stmt = update(Job).where(*_fenced(job)).values(**values).execution_options(synchronize_session=False)
    result = cast(CursorResult[Any], await session.execute(stmt))
    return result.rowcount == 1


async def complete(session: AsyncSession, job: ClaimedJob, *, now: datetime | None = None) -> bool:
    """Mark done inside the handler's own transaction; False if this worker lost the job."""
    return await _fenced_update(
        session, job, {"state": DONE, "finished_at": now or utcnow(), "lease_until": None}
    )


async def fail(
    db: Database,
    job: ClaimedJob,
    *,
    error: str,
    retry_at: datetime | None,
    now: datetime | None = None,
) -> bool:
    """In a fresh transaction (the handler's rolled back): queue again at `retry_at`, or bury."""
    values: dict[str, Any] = {"last_error": truncate_error(error), "lease_until": None}
    if retry_at is None:
        values.update(state=DEAD, finished_at=now or utcnow())
    else:
        values.update(state=QUEUED, run_at=retry_at)
    async with db.uow() as uow:
        return await _fenced_update(uow.session, job, values)


async def release(db: Database, jobs: Sequence[ClaimedJob], *, now: datetime | None = None) -> int:
    """Hand interrupted jobs back at once (a worker shutting down), without using up an attempt."""
    released = 0
    async with db.uow() as uow:
        for job in jobs:
            values = {
                "state": QUEUED,
                "run_at": now or utcnow(),
                "attempts": job.attempt - 1,
                "lease_until": None,
                "last_error": f"attempt {job.attempt} interrupted: worker {job.worker_id} shut down",
            }
            if await _fenced_update(uow.session, job, values):
                released += 1
                uow.note_enqueued(job.queue)
    return released
