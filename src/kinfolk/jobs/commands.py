"""`kinfolk jobs ...`: let operators see queued and dead jobs, read the last error, retry."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.admin import count_by_state, get_job, list_jobs, retry_job
from kinfolk.jobs.models import DEAD, DONE, QUEUED, RUNNING, Job
from kinfolk.kernel.clock import iso


def _run(settings: Settings, fn: Callable[[Container], Awaitable[int]]) -> int:
    async def main() -> int:
        container = Container.build(settings, pool_size=2)
        try:
            return await fn(container)
        finally:
            await container.close()

    return asyncio.run(main())


def _error_summary(job: Job) -> str:
    lines = [line.strip() for line in (job.last_error or "").splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            counts = await count_by_state(uow.session)
            jobs = await list_jobs(uow.session, state=args.state, kind=args.kind, limit=args.limit)
        summary = ", ".join(f"{state} {counts.get(state, 0)}" for state in (QUEUED, RUNNING, DONE, DEAD))
        print(f"jobs: {summary}")
        print(f"{'id':<20} {'kind':<28} {'queue':<10} {'state':<8} {'tries':<7} {'when':<25} last error")
        for job in jobs:
            when = job.finished_at if job.state in (DONE, DEAD) else job.run_at
            tries = f"{job.attempts}/{job.max_attempts}"
            print(
                f"{job.id:<20} {job.kind:<28} {job.queue:<10} {job.state:<8} {tries:<7} "
                f"{iso(when) or '-':<25} {_error_summary(job)}"
            )
        return 0

    return _run(settings, go)


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            job = await get_job(uow.session, args.id)
        if job is None:
            print(f"no job with id {args.id}", file=sys.stderr)
            return 1
        fields: dict[str, Any] = {
            "id": job.id,
            "kind": job.kind,
            "queue": job.queue,
            "state": job.state,
            "attempts": f"{job.attempts}/{job.max_attempts}",
            "run_at": iso(job.run_at),
            "created_at": iso(job.created_at),
            "finished_at": iso(job.finished_at),
            "locked_by": job.locked_by,
            "lease_until": iso(job.lease_until),
            "dedup_key": job.dedup_key,
            "payload": job.payload,
        }
        for name, value in fields.items():
            print(f"{name}: {value if value is not None else '-'}")
        print("last_error:")
        print(job.last_error or "-")
        return 0

    return _run(settings, go)


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    async def go(container: Container) -> int:
        async with container.db.uow() as uow:
            outcome = await retry_job(uow, args.id)
        if outcome.error is not None:
            print(outcome.error, file=sys.stderr)
            return 1
        print(f"job {args.id} queued to run now")
        return 0

    return _run(settings, go)


def add_jobs_commands(sub: Any) -> None:
    """Attach `jobs list|show|retry` to the top-level parser's sub-commands."""
    parser = sub.add_parser("jobs", help="inspect and retry background jobs")
    jobs = parser.add_subparsers(dest="sub", required=True)
    p = jobs.add_parser("list", help="recent jobs, newest first (dead ones with their last error)")
    p.add_argument("--state", choices=[QUEUED, RUNNING, DONE, DEAD])
    p.add_argument("--kind")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_list)
    p = jobs.add_parser("show", help="one job with its payload and full last error")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_show)
    p = jobs.add_parser("retry", help="run a dead job again now, with fresh attempts")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_retry)
