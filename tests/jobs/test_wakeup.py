"""Wake-ups: a job enqueued in this process, or by another engine through PostgreSQL NOTIFY,
is picked up long before the (deliberately huge) poll interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.models import DONE
from kinfolk.jobs.wakeup import asyncpg_dsn
from kinfolk.jobs.worker import Worker
from tests.jobs.helpers import enqueue, load_job

pytestmark = pytest.mark.usefixtures("marks")

POLL = 60.0
PROMPT = 5.0


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _until(predicate: Callable[[], Awaitable[bool]], timeout: float) -> None:
    async def wait() -> None:
        while not await predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def _is_done(container: Container, job_id: int) -> bool:
    return (await load_job(container, job_id)).state == DONE


async def _listening(worker: Worker, timeout: float = 5) -> None:
    async def check() -> bool:
        return worker.listener is not None and worker.listener.listening.is_set()

    await _until(check, timeout)


async def test_commit_in_this_process_wakes_the_worker(container: Container) -> None:
    worker = Worker(container, poll_interval=POLL, listen=False)
    async with running(worker):
        await asyncio.sleep(0.2)  # the worker's first claim found nothing; it is now waiting
        job_id = await enqueue(container, "test.record")
        await _until(lambda: _is_done(container, job_id), PROMPT)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_notify_from_another_engine_wakes_the_worker(container: Container, settings: Settings) -> None:
    worker = Worker(container, poll_interval=POLL)
    other = Container.build(settings, pool_size=1)
    try:
        async with running(worker):
            await _listening(worker)
            await asyncio.sleep(0.1)
            job_id = await enqueue(other, "test.record")
            await _until(lambda: _is_done(container, job_id), PROMPT)
    finally:
        await other.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_listener_reconnects_after_its_connection_is_killed(
    container: Container, settings: Settings
) -> None:
    worker = Worker(container, poll_interval=POLL)
    other = Container.build(settings, pool_size=1)
    try:
        async with running(worker):
            await _listening(worker)
            admin = await asyncpg.connect(asyncpg_dsn(container.db.url))
            try:
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            finally:
                await admin.close()
            assert killed == 1

            async def reconnected() -> bool:
                listener = worker.listener
                return listener is not None and listener.connections == 2 and listener.listening.is_set()

            await _until(reconnected, PROMPT)
            job_id = await enqueue(other, "test.record")
            await _until(lambda: _is_done(container, job_id), PROMPT)
    finally:
        await other.close()
