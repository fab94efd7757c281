"""Enqueueing: an INSERT in the caller's transaction, so a rollback enqueues nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite

from kinfolk.db.prepared import Prepared, run_in
from kinfolk.jobs.kinds import lookup
from kinfolk.jobs.models import QUEUED, Job
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

if TYPE_CHECKING:
    from kinfolk.db.database import UnitOfWork

_COLUMNS = (
    "id",
    "kind",
    "queue",
    "payload",
    "state",
    "run_at",
    "attempts",
    "max_attempts",
    "dedup_key",
    "created_at",
)


@cache
def _insert(dialect: str, deduplicated: bool) -> Prepared:
    """Built once: every post, follow and favourite enqueues a job, and an ORM insert built per
    call cost more than its SQL (bench/RESULTS.md, G2)."""
    table = Job.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Job).values({name: bindparam(name, type_=table.c[name].type) for name in _COLUMNS})
    if deduplicated:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    return Prepared(stmt.returning(Job.id))


async def enqueue(
    uow: UnitOfWork,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Insert a job row; returns its id, or None when `dedup_key` already exists.

    The queue and the attempts come from the kind's declaration (`jobs/kinds.py`), whatever
    handler modules this process imported; an undeclared kind raises `UnknownJobKind` before
    anything is written (a programming error, which a silent fall-back would hide).
    """
    spec = lookup(kind)
    job_queue = spec.queue
    now = utcnow()
    values = {
        "id": new_id(),
        "kind": kind,
        "queue": job_queue,
        "payload": payload,
        "state": QUEUED,
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts or spec.max_attempts,
        "dedup_key": dedup_key,
        "created_at": now,
    }
    rows = await run_in(uow.session, _insert(uow.db.dialect, dedup_key is not None), values)
    job_id = rows[0][0] if rows else None
    if job_id is not None:
        uow.note_enqueued(job_queue)
    return job_id


# Rows per INSERT statement in `enqueue_many` (ten columns each: well under every database's
# limit on bound parameters).
_MANY_CHUNK = 500


async def enqueue_many(
    uow: UnitOfWork,
    kind: str,
    jobs: Sequence[tuple[dict[str, Any], str | None]],
    *,
    run_at: datetime | None = None,
) -> None:
    """Insert many jobs of one kind, each `(payload, dedup_key)`, in a few multi-row INSERTs.

    One statement per job cost a thousand round trips for a post whose author has followers
    on a thousand servers (bench G4.fanout); here it is one per 500. A job whose `dedup_key`
    exists already is skipped, as `enqueue` skips it."""
    if not jobs:
        return
    spec = lookup(kind)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "kind": kind,
            "queue": spec.queue,
            "payload": payload,
            "state": QUEUED,
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": spec.max_attempts,
            "dedup_key": key,
            "created_at": now,
        }
        for payload, key in jobs
    ]
    insert = postgresql.insert if uow.db.dialect == "postgresql" else sqlite.insert
    stmt = insert(Job).on_conflict_do_nothing(index_elements=["dedup_key"])
    for start in range(0, len(rows), _MANY_CHUNK):
        await uow.session.execute(stmt.values(rows[start : start + _MANY_CHUNK]))
    uow.note_enqueued(spec.queue)
