"""Test-only job kinds, importable by a worker subprocess through KINFOLK_JOB_MODULES.

Their observable effect is a row in `job_test_marks`, a table that exists only in test
databases (created by `create_marks_table`), written in the job's own transaction.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, delete, insert, select

from kinfolk.db.database import Database
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.kinds import JobKind, declare
from kinfolk.jobs.registry import PermanentJobError, RetryLater, handles

metadata = MetaData()
marks = Table(
    "job_test_marks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, nullable=False),
    Column("label", String(100), nullable=False, default=""),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(128), nullable=False, default=""),
)

# Jobs whose handler started, in this process, before any DB work: (job id, worker id).
STARTED: list[tuple[int, str]] = []


async def create_marks_table(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(delete(marks))


async def read_marks(db: Database) -> list[dict[str, Any]]:
    async with db.uow(write=False) as uow:
        rows = await uow.session.execute(select(marks).order_by(marks.c.id))
        return [dict(row._mapping) for row in rows]


async def _mark(ctx: JobContext, label: str = "") -> None:
    await ctx.uow.session.execute(
        insert(marks).values(job_id=ctx.job_id, label=label, attempt=ctx.attempt, worker=ctx.worker_id)
    )


@handles(declare(JobKind("test.record", queue="test")).name)
async def record(ctx: JobContext, payload: dict[str, Any]) -> None:
    await _mark(ctx, str(payload.get("label", "")))


@handles(
    declare(JobKind("test.flaky", queue="test", max_attempts=5, backoff=lambda attempt: 10.0 * attempt)).name
)
async def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
    # The mark is written before failing: a failed attempt's writes must roll back.
    await _mark(ctx, f"attempt {ctx.attempt}")
    if ctx.attempt < int(payload["succeed_on"]):
        raise RuntimeError(f"boom on attempt {ctx.attempt}")


@handles(
    declare(JobKind("test.always_fails", queue="test", max_attempts=3, backoff=lambda attempt: 5.0)).name
)
async def always_fails(ctx: JobContext, payload: dict[str, Any]) -> None:
    await _mark(ctx)
    raise ValueError(f"nope, attempt {ctx.attempt}")


@handles(declare(JobKind("test.permanent", queue="test", max_attempts=10)).name)
async def permanent(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise PermanentJobError("the remote said 410 Gone")


@handles(declare(JobKind("test.retry_later", queue="test", max_attempts=10)).name)
async def retry_later(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise RetryLater(float(payload["delay"]), "rate limited")


@handles(
    declare(
        JobKind(
            "test.slow_marker", queue="test", max_attempts=5, lease_seconds=2, backoff=lambda attempt: 0.0
        )
    ).name
)
async def slow_marker(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Shows it is running with a file (outside any transaction), then sleeps on attempt 1."""
    Path(payload["dir"], f"attempt-{ctx.attempt}").write_text(ctx.worker_id)
    if ctx.attempt == 1:
        await asyncio.sleep(float(payload["sleep"]))
    await _mark(ctx, "slow")


@handles(declare(JobKind("test.waiting_delivery", queue="delivery", max_attempts=1)).name)
async def waiting_delivery(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A delivery to a server that takes its time: it waits outside any transaction."""
    Path(payload["dir"], f"delivery-{ctx.job_id}").write_text(ctx.worker_id)
    await asyncio.sleep(float(payload["sleep"]))
    await _mark(ctx, "delivered")


@handles(declare(JobKind("test.count", queue="test")).name)
async def count(ctx: JobContext, payload: dict[str, Any]) -> None:
    STARTED.append((ctx.job_id, ctx.worker_id))
    await asyncio.sleep(0)
    await _mark(ctx, "count")
