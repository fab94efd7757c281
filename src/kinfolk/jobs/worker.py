"""The worker: claim due jobs under a lease, run up to `concurrency` handlers at once, record
the outcome.

Success is recorded in the handler's own transaction (see `JobContext`). A failure rolls that
transaction back and is recorded in a fresh one: queued again after the kind's backoff, or
dead once its attempts are used up (PermanentJobError: at once; RetryLater: after the delay
the handler asked for, capped). A worker killed mid-job loses nothing: its lease expires and
another worker claims the job again.

A handler that runs longer than its kind's `lease_seconds` is not interrupted; its lease just
expires and the job may be claimed again while it still runs. The fenced completion then lets
only the newest attempt commit, so DB-only effects still happen once, but outside effects
(an HTTP delivery) may happen twice: give slow kinds a generous lease.

Wake-ups come from this process's commits (`Database.on_jobs_committed`), from PostgreSQL
NOTIFY, and from polling every `poll_interval` seconds whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from kinfolk.infra.metrics import job_finished
from kinfolk.jobs import claim as store
from kinfolk.jobs.claim import ClaimedJob
from kinfolk.jobs.context import JobContext, JobUnitOfWork
from kinfolk.jobs.handlers import PENDING_KINDS, load_handler_modules
from kinfolk.jobs.kinds import DELIVERY, find
from kinfolk.jobs.registry import PermanentJobError, RetryLater, handler_for
from kinfolk.jobs.wakeup import PgListener, asyncpg_dsn
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.jobs.worker")

MAX_RETRY_LATER = 86400.0
DEFAULT_POLL_INTERVAL = 1.5
# How often a worker looks for jobs held by dead workers of its own host (see
# claim.expire_orphaned_leases); it also looks once when it starts.
ORPHAN_CHECK_INTERVAL = 30.0


@dataclass
class _Slots:
    """One share of the worker's concurrency: the queues it claims from and how many of their
    jobs run at once. Deliveries get a share of their own because a delivery spends its time
    waiting on another server (an inbox that accepts the connection and never answers holds its
    job for the whole read timeout): such waits cost no CPU, and with them in the same slots
    as everything else, a few dead servers would stall the worker's other queues and the live
    deliveries (bench G4.dead)."""

    queues: list[str] | None
    limit: int
    excluding: tuple[str, ...] = ()
    running: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def free(self) -> int:
        return self.limit - len(self.running)


class _LeaseLost(Exception):
    """Another worker owns the job now; this attempt's work must roll back."""


def _default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        container: Container,
        queues: list[str] | None = None,
        concurrency: int = 4,
        *,
        delivery_concurrency: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        worker_id: str | None = None,
        listen: bool = True,
        shutdown_grace: float = 30.0,
    ) -> None:
        self.container = container
        self.db = container.db
        self.queues = list(queues) if queues else None
        self.concurrency = max(1, concurrency)
        self._slots = self._share(delivery_concurrency)
        self.poll_interval = poll_interval
        self.worker_id = worker_id or _default_worker_id()
        self.listen = listen
        self.shutdown_grace = shutdown_grace
        self.listener: PgListener | None = None
        self._wake = asyncio.Event()
        self._running: dict[asyncio.Task[None], ClaimedJob] = {}
        load_handler_modules()

    def _share(self, delivery_concurrency: int | None) -> list[_Slots]:
        """`concurrency` slots for the queues, and `delivery_concurrency` more of their own for
        the delivery queue when this worker serves it (None: deliveries share the others')."""
        if delivery_concurrency is None or not self._wants(DELIVERY):
            return [_Slots(self.queues, self.concurrency)]
        deliveries = _Slots([DELIVERY], max(1, delivery_concurrency))
        if self.queues is None:
            return [deliveries, _Slots(None, self.concurrency, excluding=(DELIVERY,))]
        others = [queue for queue in self.queues if queue != DELIVERY]
        return [deliveries, _Slots(others, self.concurrency)] if others else [deliveries]

    # -- waking up -------------------------------------------------------------------------

    def _wants(self, queue: str) -> bool:
        return not queue or self.queues is None or queue in self.queues

    def _on_committed(self, queues: set[str]) -> None:
        if any(self._wants(queue) for queue in queues):
            self._wake.set()

    def _on_notified(self, queue: str) -> None:
        if self._wants(queue):
            self._wake.set()

    # -- running ---------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim what is due at `now` (up to each share's slots), run it, and return how many.

        For tests and one-shot draining; `run` is the long-lived loop.
        """
        jobs: list[ClaimedJob] = []
        for slots in self._slots:
            jobs += await store.claim(
                self.db,
                worker_id=self.worker_id,
                queues=slots.queues,
                excluding=slots.excluding,
                limit=slots.limit,
                now=now,
            )
        await asyncio.gather(*(self.execute(job, now=now) for job in jobs))
        return len(jobs)

    async def run(self, stop: asyncio.Event) -> None:
        self.db.on_jobs_committed.append(self._on_committed)
        helpers = [asyncio.create_task(self._relay_stop(stop))]
        if self.listen and self.db.dialect == "postgresql":
            self.listener = PgListener(asyncpg_dsn(self.db.url), self._on_notified)
            helpers.append(asyncio.create_task(self.listener.run(stop)))
        log.info(
            "worker %s started (queues=%s, concurrency=%d)", self.worker_id, self.queues, self.concurrency
        )
        try:
            await self._loop(stop)
        finally:
            with contextlib.suppress(ValueError):
                self.db.on_jobs_committed.remove(self._on_committed)
            await self._drain()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    async def _relay_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    async def _expire_orphans(self) -> None:
        try:
            expired = await store.expire_orphaned_leases(self.db, socket.gethostname())
        except Exception:
            log.exception("looking for jobs of dead workers failed")
            return
        if expired:
            log.warning("%d job(s) held by dead workers of this host taken back", expired)

    async def _loop(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_orphan_check = 0.0
        while not stop.is_set():
            if loop.time() >= next_orphan_check:
                await self._expire_orphans()
                next_orphan_check = loop.time() + ORPHAN_CHECK_INTERVAL
            # Cleared before claiming: a wake-up that arrives during the claim is not lost.
            self._wake.clear()
            timeout: float | None = None  # every share full: a finishing job sets the event
            claimed_all = False
            for slots in self._slots:
                free = slots.free
                if free <= 0:
                    continue
                timeout = self.poll_interval
                try:
                    jobs = await store.claim(
                        self.db,
                        worker_id=self.worker_id,
                        queues=slots.queues,
                        excluding=slots.excluding,
                        limit=free,
                    )
                except Exception:
                    log.exception("claiming jobs failed; retrying after the poll interval")
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self.execute(job), name=f"job-{job.id}")
                    self._running[task] = job
                    slots.running.add(task)
                    task.add_done_callback(self._finished)
                claimed_all = claimed_all or (bool(jobs) and len(jobs) == free)
            if claimed_all:
                continue
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        for slots in self._slots:
            slots.running.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("job task crashed", exc_info=task.exception())

    async def _drain(self) -> None:
        """Let running jobs finish for a while, then cancel them and hand them back."""
        if not self._running:
            return
        pending = set(self._running)
        _, still = await asyncio.wait(pending, timeout=self.shutdown_grace)
        if not still:
            return
        interrupted = [self._running[task] for task in still if task in self._running]
        for task in still:
            task.cancel()
        await asyncio.gather(*still, return_exceptions=True)
        try:
            released = await store.release(self.db, interrupted)
            log.warning("shutdown interrupted %d job(s); %d handed back", len(interrupted), released)
        except Exception:
            log.exception("could not hand back interrupted jobs; their leases will expire")

    # -- one job ---------------------------------------------------------------------------

    async def execute(self, job: ClaimedJob, *, now: datetime | None = None) -> None:
        """Run one claimed job and record its outcome; never raises (except cancellation)."""
        kind = find(job.kind)
        handler = handler_for(job.kind)
        if kind is None or handler is None:
            await self._record_failure(
                job, _unrunnable(job.kind, declared=kind is not None), retry_in=None, now=now
            )
            return
        try:
            async with JobUnitOfWork(self.db) as uow:
                ctx = JobContext(
                    container=self.container,
                    uow=uow,
                    job_id=job.id,
                    kind=job.kind,
                    queue=job.queue,
                    attempt=job.attempt,
                    max_attempts=job.max_attempts,
                    worker_id=self.worker_id,
                )
                await handler(ctx, job.payload)
                if not await store.complete(uow.session, job, now=now or utcnow()):
                    raise _LeaseLost
            job_finished(job.kind, "done")
        except _LeaseLost:
            log.warning("job %s (%s) was taken over after its lease expired; rolled back", job.id, job.kind)
        except PermanentJobError:
            await self._record_failure(job, traceback.format_exc(), retry_in=None, now=now)
        except RetryLater as exc:
            delay = min(max(0.0, exc.delay), MAX_RETRY_LATER)
            retry_in = delay if job.attempt < job.max_attempts else None
            await self._record_failure(job, traceback.format_exc(), retry_in=retry_in, now=now)
        except Exception:
            retry_in = kind.backoff(job.attempt) if job.attempt < job.max_attempts else None
            await self._record_failure(job, traceback.format_exc(), retry_in=retry_in, now=now)

    async def _record_failure(
        self, job: ClaimedJob, error: str, *, retry_in: float | None, now: datetime | None
    ) -> None:
        now = now or utcnow()
        retry_at = now + timedelta(seconds=retry_in) if retry_in is not None else None
        job_finished(job.kind, "dead" if retry_at is None else "failed")
        if retry_at is None:
            log.error(
                "job %s (%s) is dead after attempt %d: %s", job.id, job.kind, job.attempt, _last_line(error)
            )
        else:
            log.warning(
                "job %s (%s) attempt %d failed, retrying at %s: %s",
                job.id,
                job.kind,
                job.attempt,
                retry_at.isoformat(),
                _last_line(error),
            )
        delay = 0.5
        while True:
            try:
                if not await store.fail(self.db, job, error=error, retry_at=retry_at, now=now):
                    log.warning("job %s was taken over before its failure could be recorded", job.id)
                return
            except Exception as exc:
                # The database itself may be what failed (restarting): keep trying while the
                # lease is ours, so the job is queued again as soon as it is back rather than
                # when the lease expires.
                if utcnow() + timedelta(seconds=delay) >= job.lease_until:
                    log.error(
                        "could not record the failure of job %s; its lease will expire: %s", job.id, exc
                    )
                    return
                log.warning("could not record the failure of job %s yet (%s); retrying", job.id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def _unrunnable(kind: str, *, declared: bool) -> str:
    """Why a job cannot run here: said plainly in `last_error`, since the job is buried at once."""
    if not declared:
        return f"unknown job kind {kind!r}: not declared in kinfolk.jobs.kinds (nor by a plugin)"
    if kind in PENDING_KINDS:
        return (
            f"no handler bound for job kind {kind!r}: it is declared but its handler is not written "
            "yet (kinfolk.jobs.handlers.PENDING_KINDS)"
        )
    return (
        f"no handler bound for job kind {kind!r}: declared, but no imported module binds it with "
        "@handles (is its module listed in kinfolk.jobs.handlers.HANDLER_MODULES or KINFOLK_JOB_MODULES?)"
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
