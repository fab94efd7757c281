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
