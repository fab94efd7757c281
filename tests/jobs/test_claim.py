"""Leases: an expired lease is claimed again, and only the current holder may finish a job."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kinfolk.container import Container
from kinfolk.jobs import claim as store
from kinfolk.jobs.models import DEAD, DONE, QUEUED, RUNNING
from kinfolk.jobs.worker import Worker
from kinfolk.kernel.clock import utcnow
from tests.jobs.helpers import enqueue, load_job
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")


async def test_claim_marks_running_with_a_lease(container: Container) -> None:
    job_id = await enqueue(container, "test.slow_marker", {"dir": ".", "sleep": 0})
    now = utcnow()

    [job] = await store.claim(container.db, worker_id="w1", queues=None, limit=5, now=now)

    assert (job.id, job.attempt, job.lease_until) == (job_id, 1, now + timedelta(seconds=2))
    row = await load_job(container, job_id)
    assert (row.state, row.attempts, row.locked_by) == (RUNNING, 1, "w1")
    assert row.lease_until == now + timedelta(seconds=2)
    assert await store.claim(container.db, worker_id="w2", queues=None, limit=5, now=now) == []


async def test_expired_lease_is_claimed_again(container: Container) -> None:
    job_id = await enqueue(container, "test.record", {"label": "again"})
    now = utcnow()
    [lost] = await store.claim(container.db, worker_id="dead-worker", queues=None, limit=1, now=now)

    worker = Worker(container, worker_id="w2", listen=False)
    assert await worker.run_once(now=now + timedelta(seconds=299)) == 0
    assert await worker.run_once(now=now + timedelta(seconds=301)) == 1

    row = await load_job(container, job_id)
    assert (row.state, row.attempts, row.locked_by) == (DONE, 2, "w2")
    assert [(m["attempt"], m["worker"]) for m in await read_marks(container.db)] == [(2, "w2")]
    assert lost.attempt == 1


async def test_worker_that_lost_its_lease_cannot_complete(container: Container) -> None:
    job_id = await enqueue(container, "test.record")
    now = utcnow()
    [first] = await store.claim(container.db, worker_id="slow", queues=None, limit=1, now=now)
    [second] = await store.claim(
        container.db, worker_id="fresh", queues=None, limit=1, now=now + timedelta(seconds=301)
    )

    async with container.db.uow() as uow:
        assert await store.complete(uow.session, first) is False
    assert await store.fail(container.db, first, error="late", retry_at=None) is False
    async with container.db.uow() as uow:
        assert await store.complete(uow.session, second) is True

    row = await load_job(container, job_id)
    assert (row.state, row.locked_by, row.last_error) == (DONE, "fresh", None)


async def test_late_handler_work_rolls_back_when_the_lease_was_taken_over(container: Container) -> None:
    await enqueue(container, "test.record", {"label": "late"})
    now = utcnow()
    [first] = await store.claim(container.db, worker_id="slow", queues=None, limit=1, now=now)
    await Worker(container, worker_id="fresh", listen=False).run_once(now=now + timedelta(seconds=301))

    await Worker(container, worker_id="slow", listen=False).execute(first)

    assert [m["worker"] for m in await read_marks(container.db)] == ["fresh"]


async def test_lost_lease_on_the_last_attempt_buries_the_job(container: Container) -> None:
    job_id = await enqueue(container, "test.record", max_attempts=1)
    now = utcnow()
    await store.claim(container.db, worker_id="w1", queues=None, limit=1, now=now)

    fresh_id = await enqueue(container, "test.record")

    later = now + timedelta(seconds=301)
    claimed = await store.claim(container.db, worker_id="w2", queues=None, limit=2, now=later)

    assert [job.id for job in claimed] == [fresh_id]
    row = await load_job(container, job_id)
    assert (row.state, row.attempts) == (DEAD, 1)
    assert row.last_error is not None and "lease expired" in row.last_error
    assert (await load_job(container, fresh_id)).state == RUNNING


async def test_release_hands_a_job_back_without_using_an_attempt(container: Container) -> None:
    job_id = await enqueue(container, "test.record")
    [job] = await store.claim(container.db, worker_id="w1", queues=None, limit=1)

    assert await store.release(container.db, [job]) == 1

    row = await load_job(container, job_id)
    assert (row.state, row.attempts, row.lease_until) == (QUEUED, 0, None)
    assert await Worker(container, listen=False).run_once() == 1
    assert (await load_job(container, job_id)).state == DONE


async def test_leases_of_dead_workers_of_this_host_expire_at_once(container: Container) -> None:
    import os
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    orphan = await enqueue(container, "test.record", {"label": "orphan"})
    alive = await enqueue(container, "test.record", {"label": "alive"})
    elsewhere = await enqueue(container, "test.record", {"label": "elsewhere"})
    now = utcnow()
    for job_id, worker_id in (
        (orphan, f"box:{dead_pid}:aa"),
        (alive, f"box:{os.getpid()}:bb"),
        (elsewhere, f"other:{dead_pid}:cc"),
    ):
        [claimed] = await store.claim(container.db, worker_id=worker_id, queues=None, limit=1, now=now)
        assert claimed.id == job_id

    assert await store.expire_orphaned_leases(container.db, "box", now=now) == 1

    assert (await load_job(container, orphan)).lease_until == now
    assert (await load_job(container, alive)).lease_until == now + timedelta(seconds=300)
    assert (await load_job(container, elsewhere)).lease_until == now + timedelta(seconds=300)
    # The usual claim takes the orphan again at once, counting the killed attempt.
    worker = Worker(container, worker_id="box:1:dd", listen=False)
    assert await worker.run_once(now=now + timedelta(seconds=1)) == 1
    job = await load_job(container, orphan)
    assert (job.state, job.attempts) == (DONE, 2)
