"""The worker's SQL: claim due jobs under a lease, then complete, fail, or release them.

Every write after the claim is fenced on (id, state running, locked_by, attempts): a worker
whose lease expired and whose job was claimed again by someone else can no longer complete or
fail it, so the job's effects commit once, from whichever attempt holds the current lease.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import BigInteger, ColumnElement, CursorResult, Integer, bindparam, select, update

from kinfolk.db.base import UTCDateTime
from kinfolk.db.prepared import Prepared, run_in, run_typed_in
from kinfolk.jobs.kinds import find
from kinfolk.jobs.models import DEAD, DONE, QUEUED, RUNNING, Job
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from kinfolk.db.database import Database

# Lease for a kind no declaration names; the job is buried at once anyway.
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


_COLUMNS = (Job.id, Job.kind, Job.queue, Job.payload, Job.state, Job.attempts, Job.max_attempts)
_NOW = bindparam("now", type_=UTCDateTime())
_LIMIT = bindparam("limit", type_=Integer())


def _queue_slots(queues: Sequence[str] | None) -> dict[str, str]:
    return {f"q{i}": queue for i, queue in enumerate(queues or ())}


@cache
def _candidates(running: bool, queue_count: int, excluding: int = 0) -> Prepared:
    """Expired leases (`running`) or due jobs, oldest first, for a worker of `queue_count`
    queues (0: all) less `excluding` queues. Built once per shape: a worker claims many times a
    second under load."""
    slots = [bindparam(f"q{i}", type_=Job.queue.type) for i in range(queue_count)]
    skipped = [bindparam(f"x{i}", type_=Job.queue.type) for i in range(excluding)]
    if running:
        conditions = [Job.state == RUNNING, Job.lease_until < _NOW]
        order = Job.lease_until
    else:
        conditions = [Job.state == QUEUED, Job.run_at <= _NOW]
        order = Job.run_at
    if slots:
        conditions.append(Job.queue.in_(slots))
    if skipped:
        conditions.append(Job.queue.not_in(skipped))
    return Prepared(
        select(*_COLUMNS).where(*conditions).order_by(order).limit(_LIMIT).with_for_update(skip_locked=True)
    )


def _fence() -> list[ColumnElement[bool]]:
    return [
        Job.id == bindparam("id", type_=BigInteger()),
        Job.state == RUNNING,
        Job.locked_by == bindparam("worker_id", type_=Job.locked_by.type),
        Job.attempts == bindparam("attempt", type_=Integer()),
    ]


_TAKE = Prepared(
    update(Job)
    .where(Job.id == bindparam("id", type_=BigInteger()))
    .values(
        state=RUNNING,
        attempts=bindparam("attempts", type_=Integer()),
        locked_by=bindparam("worker_id", type_=Job.locked_by.type),
        lease_until=bindparam("lease_until", type_=UTCDateTime()),
    )
)
_COMPLETE = Prepared(
    update(Job)
    .where(*_fence())
    .values(state=DONE, finished_at=bindparam("finished_at", type_=UTCDateTime()), lease_until=None)
    .returning(Job.id)
)


async def claim(
    db: Database,
    *,
    worker_id: str,
    queues: Sequence[str] | None,
    limit: int,
    now: datetime | None = None,
    excluding: Sequence[str] = (),
) -> list[ClaimedJob]:
    """Take up to `limit` due jobs (expired leases first) of `queues` (None: all) but not of
    `excluding`, and mark them running for this worker.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` lets many workers claim at once without waiting on
    or double-taking a row; on SQLite the unit of work's `BEGIN IMMEDIATE` serialises claimers.
    """
    if limit <= 0:
        return []
    now = now or utcnow()
    values: dict[str, Any] = {"now": now, "limit": limit, **_queue_slots(queues)}
    values.update({f"x{i}": queue for i, queue in enumerate(excluding)})
    count = len(queues or ())
    due, expired = _candidates(False, count, len(excluding)), _candidates(True, count, len(excluding))
    async with db.uow() as uow:
        session = uow.session
        rows = await run_typed_in(session, expired, values)
        if len(rows) < limit:
            rows.extend(await run_typed_in(session, due, {**values, "limit": limit - len(rows)}))
        claimed: list[ClaimedJob] = []
        buried: list[dict[str, Any]] = []
        for job_id, kind_name, queue, payload, state, attempts, max_attempts in rows:
            if state == RUNNING and attempts >= max_attempts:
                buried.append(_buried_after_lost_lease(job_id, attempts, now))
                continue
            kind = find(kind_name)
            lease_until = now + timedelta(seconds=kind.lease_seconds if kind else DEFAULT_LEASE_SECONDS)
            attempt = attempts + 1
            take = {"id": job_id, "attempts": attempt, "worker_id": worker_id, "lease_until": lease_until}
            await run_in(session, _TAKE, take)
            claimed.append(
                ClaimedJob(
                    id=job_id,
                    kind=kind_name,
                    queue=queue,
                    payload=dict(payload or {}),
                    attempt=attempt,
                    max_attempts=max_attempts,
                    worker_id=worker_id,
                    lease_until=lease_until,
                )
            )
        if buried:
            await session.execute(update(Job), buried)
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
    values = {
        "id": job.id,
        "worker_id": job.worker_id,
        "attempt": job.attempt,
        "finished_at": now or utcnow(),
    }
    return len(await run_in(session, _COMPLETE, values)) == 1


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


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but someone else's (EPERM)
        return False
    return False


async def expire_orphaned_leases(db: Database, host: str, *, now: datetime | None = None) -> int:
    """Expire at once the leases held by workers of this host whose process is gone.

    A worker killed with SIGKILL (or the machine's OOM killer) leaves its jobs running under a
    lease of up to an hour; when it is started again on the same host, its successor need not
    wait for that: the worker id names the host and the pid, and a pid that no longer exists
    holds nothing. The lease is only expired, so the usual claim takes the job again (or buries
    it when that was its last attempt); a live process, even an unknown one, is never touched.
    """
    now = now or utcnow()
    async with db.uow() as uow:
        rows = (
            await uow.session.execute(
                select(Job.id, Job.locked_by).where(
                    Job.state == RUNNING, Job.locked_by.like(f"{host}:%"), Job.lease_until > now
                )
            )
        ).all()
        expired = 0
        for job_id, locked_by in rows:
            parts = str(locked_by).rsplit(":", 2)
            if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
                continue
            if not _process_gone(int(parts[1])):
                continue
            stmt = (
                update(Job)
                .where(Job.id == job_id, Job.state == RUNNING, Job.locked_by == locked_by)
                .values(lease_until=now)
                .execution_options(synchronize_session=False)
            )
            result = cast(CursorResult[Any], await uow.session.execute(stmt))
            expired += result.rowcount
    return expired
