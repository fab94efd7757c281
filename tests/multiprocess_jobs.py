"""Job kinds for tests/test_multiprocess.py, imported by its worker processes through
KINFOLK_JOB_MODULES: each run records itself in `mp_runs`, in the job's own transaction, so a
row exists exactly when the job's completion committed."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sqlalchemy import text

from kinfolk.jobs.context import JobContext
from kinfolk.jobs.kinds import JobKind, declare
from kinfolk.jobs.registry import handles

# Short, so that the jobs of a killed worker are taken over within seconds.
SLOW_LEASE_SECONDS = 3.0


async def _record(ctx: JobContext, payload: dict[str, Any]) -> None:
    await ctx.uow.session.execute(
        text("INSERT INTO mp_runs (n, job_id, pid, attempt) VALUES (:n, :job_id, :pid, :attempt)"),
        {"n": int(payload["n"]), "job_id": ctx.job_id, "pid": os.getpid(), "attempt": ctx.attempt},
    )


@handles(declare(JobKind("mp.record", queue="default")).name)
async def record(ctx: JobContext, payload: dict[str, Any]) -> None:
    await _record(ctx, payload)


@handles(declare(JobKind("mp.slow", queue="default", lease_seconds=SLOW_LEASE_SECONDS)).name)
async def slow(ctx: JobContext, payload: dict[str, Any]) -> None:
    # Half the work before the pause, so that a kill can land between two statements.
    await _record(ctx, payload)
    await asyncio.sleep(float(payload.get("sleep", 0.5)))
