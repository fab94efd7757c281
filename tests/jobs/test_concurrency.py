"""Two workers with their own engines on one PostgreSQL database never run the same job."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.models import DONE, Job
from kinfolk.jobs.worker import Worker
from tests.jobs import sample_handlers

pytestmark = pytest.mark.usefixtures("marks")

JOBS = 300


async def _done(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        stmt = select(func.count()).select_from(Job).where(Job.kind == "test.count", Job.state == DONE)
        return (await uow.session.execute(stmt)).scalar_one()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_workers_never_take_the_same_job(container: Container, settings: Settings) -> None:
    async with container.db.uow() as uow:
        for i in range(JOBS):
            await uow.enqueue("test.count", {"i": i})
    other = Container.build(settings, pool_size=5)
    stop = asyncio.Event()
    workers = [
        Worker(container, concurrency=4, poll_interval=0.05, worker_id="w1", listen=False),
        Worker(other, concurrency=4, poll_interval=0.05, worker_id="w2", listen=False),
    ]
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        async with asyncio.timeout(60):
            while await _done(container) < JOBS:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await other.close()

    runs = Counter(job_id for job_id, _ in sample_handlers.STARTED)
    assert len(runs) == JOBS
    assert set(runs.values()) == {1}
    assert {worker for _, worker in sample_handlers.STARTED} == {"w1", "w2"}
    marks = await sample_handlers.read_marks(container.db)
    assert len(marks) == JOBS
    assert len({mark["job_id"] for mark in marks}) == JOBS
