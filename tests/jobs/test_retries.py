"""Failures: backoff then success, dead after max_attempts, permanent errors, RetryLater.

Time is driven by passing `now` to the worker, so no test sleeps through a backoff.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kinfolk.container import Container
from kinfolk.jobs.models import DEAD, DONE, QUEUED
from kinfolk.jobs.worker import MAX_RETRY_LATER, Worker
from kinfolk.kernel.clock import utcnow
from tests.jobs.helpers import enqueue, load_job
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")


async def test_failed_attempts_back_off_then_succeed(container: Container) -> None:
    job_id = await enqueue(container, "test.flaky", {"succeed_on": 3})
    worker = Worker(container, listen=False)
    t0 = utcnow()

    assert await worker.run_once(now=t0) == 1
    job = await load_job(container, job_id)
    assert (job.state, job.attempts) == (QUEUED, 1)
    assert job.run_at == t0 + timedelta(seconds=10)
    assert job.last_error is not None and "RuntimeError: boom on attempt 1" in job.last_error
    assert "Traceback" in job.last_error

    # Not due yet: nothing is claimed before the backoff has passed.
    assert await worker.run_once(now=t0 + timedelta(seconds=9)) == 0

    t1 = t0 + timedelta(seconds=11)
    assert await worker.run_once(now=t1) == 1
    job = await load_job(container, job_id)
    assert (job.state, job.attempts) == (QUEUED, 2)
    assert job.run_at == t1 + timedelta(seconds=20)

    t2 = t1 + timedelta(seconds=21)
    assert await worker.run_once(now=t2) == 1
    job = await load_job(container, job_id)
    assert (job.state, job.attempts) == (DONE, 3)
    assert job.finished_at == t2
    # The failed attempts' writes rolled back with them; only the successful one remains.
    assert [m["label"] for m in await read_marks(container.db)] == ["attempt 3"]


async def test_dead_after_max_attempts_keeps_last_error(container: Container) -> None:
    job_id = await enqueue(container, "test.always_fails")
    worker = Worker(container, listen=False)
    now = utcnow()

    for _ in range(3):
        assert await worker.run_once(now=now) == 1
        now += timedelta(seconds=6)

    job = await load_job(container, job_id)
    assert (job.state, job.attempts, job.max_attempts) == (DEAD, 3, 3)
    assert job.last_error is not None and "ValueError: nope, attempt 3" in job.last_error
    assert job.finished_at is not None
    assert await worker.run_once(now=now + timedelta(days=30)) == 0
    assert await read_marks(container.db) == []


async def test_permanent_error_is_dead_at_once(container: Container) -> None:
    job_id = await enqueue(container, "test.permanent")

    assert await Worker(container, listen=False).run_once() == 1

    job = await load_job(container, job_id)
    assert (job.state, job.attempts) == (DEAD, 1)
    assert job.last_error is not None and "410 Gone" in job.last_error


async def test_retry_later_requeues_after_the_requested_delay(container: Container) -> None:
    job_id = await enqueue(container, "test.retry_later", {"delay": 120})
    now = utcnow()

    assert await Worker(container, listen=False).run_once(now=now) == 1

    job = await load_job(container, job_id)
    assert (job.state, job.attempts) == (QUEUED, 1)
    assert job.run_at == now + timedelta(seconds=120)
    assert job.last_error is not None and "rate limited" in job.last_error


async def test_retry_later_delay_is_capped(container: Container) -> None:
    job_id = await enqueue(container, "test.retry_later", {"delay": 10**9})
    now = utcnow()

    await Worker(container, listen=False).run_once(now=now)

    job = await load_job(container, job_id)
    assert job.state == QUEUED
    assert job.run_at == now + timedelta(seconds=MAX_RETRY_LATER)
