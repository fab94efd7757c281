"""The long-running loop: it runs jobs as they come and hands unfinished ones back on shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kinfolk.container import Container
from kinfolk.jobs.models import DONE, QUEUED
from kinfolk.jobs.worker import Worker
from tests.jobs.helpers import enqueue, load_job
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")


async def test_loop_runs_more_jobs_than_its_concurrency(container: Container) -> None:
    ids = [await enqueue(container, "test.record", {"label": str(i)}) for i in range(7)]
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(container, concurrency=2, poll_interval=0.05, listen=False).run(stop))
    try:
        async with asyncio.timeout(10):
            while len(await read_marks(container.db)) < len(ids):
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
    assert {(await load_job(container, job_id)).state for job_id in ids} == {DONE}


async def test_shutdown_hands_unfinished_jobs_back(container: Container, tmp_path: Path) -> None:
    job_id = await enqueue(container, "test.slow_marker", {"dir": str(tmp_path), "sleep": 60})
    stop = asyncio.Event()
    worker = Worker(container, poll_interval=0.05, listen=False, shutdown_grace=0.1)
    task = asyncio.create_task(worker.run(stop))
    async with asyncio.timeout(10):
        while not (tmp_path / "attempt-1").exists():
            await asyncio.sleep(0.02)

    stop.set()
    await asyncio.wait_for(task, 5)

    job = await load_job(container, job_id)
    assert (job.state, job.attempts, job.lease_until) == (QUEUED, 0, None)
    assert job.last_error is not None and "interrupted" in job.last_error
    assert await read_marks(container.db) == []


async def test_deliveries_have_slots_of_their_own(container: Container, tmp_path: Path) -> None:
    """Deliveries waiting on servers that never answer hold neither the other queues' slots
    nor each other's beyond their own share, and a slow job elsewhere holds up no delivery."""
    slow = await enqueue(container, "test.slow_marker", {"dir": str(tmp_path), "sleep": 60})
    waiting = [
        await enqueue(container, "test.waiting_delivery", {"dir": str(tmp_path), "sleep": 60})
        for _ in range(6)
    ]
    quick = [await enqueue(container, "test.waiting_delivery", {"dir": str(tmp_path), "sleep": 0})]
    records = [await enqueue(container, "test.record", {"label": str(i)}) for i in range(3)]
    worker = Worker(
        container, concurrency=2, delivery_concurrency=8, poll_interval=0.05, listen=False, shutdown_grace=0.1
    )
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(10):
            while not all((tmp_path / f"delivery-{job_id}").exists() for job_id in waiting + quick) or {
                (await load_job(container, job_id)).state for job_id in records + quick
            } != {DONE}:
                await asyncio.sleep(0.02)
        # Seven deliveries ran at once beside the slow job, on a worker of two general slots.
        assert (tmp_path / "attempt-1").exists()
        assert {(await load_job(container, job_id)).state for job_id in [*waiting, slow]} == {"running"}
    finally:
        stop.set()
        await task


async def test_without_a_share_deliveries_use_the_common_slots(container: Container, tmp_path: Path) -> None:
    waiting = [
        await enqueue(container, "test.waiting_delivery", {"dir": str(tmp_path), "sleep": 60})
        for _ in range(3)
    ]
    worker = Worker(container, concurrency=2, poll_interval=0.05, listen=False, shutdown_grace=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(10):
            while sum((tmp_path / f"delivery-{job_id}").exists() for job_id in waiting) < 2:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert sum((tmp_path / f"delivery-{job_id}").exists() for job_id in waiting) == 2
    finally:
        stop.set()
        await task
