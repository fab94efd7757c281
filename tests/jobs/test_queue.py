"""Enqueueing and running: a committed job runs once, a rolled-back one never exists."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.jobs.models import DEAD, DONE, Job
from kinfolk.jobs.worker import Worker
from tests.jobs.helpers import enqueue, load_job
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")


async def _job_count(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return (await uow.session.execute(select(func.count()).select_from(Job))).scalar_one()


async def test_enqueued_job_runs_once_and_is_done(container: Container) -> None:
    job_id = await enqueue(container, "test.record", {"label": "hello"})
    worker = Worker(container, listen=False)

    assert await worker.run_once() == 1
    assert await worker.run_once() == 0

    job = await load_job(container, job_id)
    assert job.state == DONE
    assert job.attempts == 1
    assert job.finished_at is not None
    assert job.lease_until is None
    assert job.queue == "test"
    assert [(m["job_id"], m["label"]) for m in await read_marks(container.db)] == [(job_id, "hello")]


async def test_rolled_back_transaction_enqueues_nothing(container: Container) -> None:
    with pytest.raises(RuntimeError):
        async with container.db.uow() as uow:
            assert await uow.enqueue("test.record", {"label": "never"}) is not None
            raise RuntimeError("the request failed")

    assert await _job_count(container) == 0
    assert await Worker(container, listen=False).run_once() == 0


async def test_dedup_key_makes_one_job(container: Container) -> None:
    async with container.db.uow() as uow:
        first = await uow.enqueue("test.record", {"label": "a"}, dedup_key="inbox:123")
        second = await uow.enqueue("test.record", {"label": "b"}, dedup_key="inbox:123")
    async with container.db.uow() as uow:
        third = await uow.enqueue("test.record", {"label": "c"}, dedup_key="inbox:123")

    assert first is not None
    assert second is None and third is None
    assert await _job_count(container) == 1
    await Worker(container, listen=False).run_once()
    assert [m["label"] for m in await read_marks(container.db)] == ["a"]


async def test_worker_only_takes_its_queues(container: Container) -> None:
    job_id = await enqueue(container, "test.record", {"label": "x"})

    assert await Worker(container, queues=["push"], listen=False).run_once() == 0
    assert await Worker(container, queues=["push", "test"], listen=False).run_once() == 1
    assert (await load_job(container, job_id)).state == DONE


async def test_unknown_kind_is_dead_with_a_clear_error(container: Container) -> None:
    # `enqueue` refuses an undeclared kind (tests/jobs/test_kinds.py), so such a row only comes
    # from elsewhere: a plugin no longer installed, an older release, a hand-written INSERT.
    async with container.db.uow() as uow:
        row = Job(kind="nobody.handles.this", queue="default", payload={})
        uow.session.add(row)
        await uow.session.flush()
        job_id = row.id

    assert await Worker(container, listen=False).run_once() == 1

    job = await load_job(container, job_id)
    assert job.state == DEAD
    assert job.finished_at is not None
    assert job.last_error is not None
    assert "unknown job kind 'nobody.handles.this'" in job.last_error
