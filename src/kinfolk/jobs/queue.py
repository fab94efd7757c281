"""Enqueueing: an INSERT in the caller's transaction, so a rollback enqueues nothing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite

from kinfolk.jobs.models import QUEUED, Job
from kinfolk.jobs.registry import get_kind
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

if TYPE_CHECKING:
    from kinfolk.db.database import UnitOfWork


async def enqueue(
    uow: UnitOfWork,
    kind: str,
    payload: dict[str, Any],
    *,
    queue: str | None = None,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Insert a job row; returns its id, or None when `dedup_key` already exists."""
    spec = get_kind(kind)
    job_queue = queue or (spec.queue if spec else "default")
    values = {
        "id": new_id(),
        "kind": kind,
        "queue": job_queue,
        "payload": payload,
        "state": QUEUED,
        "run_at": run_at or utcnow(),
        "attempts": 0,
        "max_attempts": max_attempts or (spec.max_attempts if spec else 10),
        "dedup_key": dedup_key,
        "created_at": utcnow(),
    }
    insert = postgresql.insert if uow.db.dialect == "postgresql" else sqlite.insert
    stmt = insert(Job).values(**values)
    if dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await uow.session.execute(stmt.returning(Job.id))
    job_id = result.scalar_one_or_none()
    if job_id is not None:
        uow.note_enqueued(job_queue)
    return job_id
