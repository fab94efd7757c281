"""Periodic jobs: one row per slot however many schedulers run, and the prune job itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.jobs.handlers import load_handler_modules
from kinfolk.jobs.models import DEAD, DONE, QUEUED, Job
from kinfolk.jobs.scheduler import Periodic, Scheduler, all_periodic
from kinfolk.jobs.worker import Worker
from kinfolk.kernel.clock import utcnow
from tests.jobs.helpers import enqueue
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")

EVERY = Periodic(kind="test.record", every=60, payload={"label": "tick"})


async def _jobs(container: Container) -> list[Job]:
    async with container.db.uow(write=False) as uow:
        return list((await uow.session.execute(select(Job).order_by(Job.run_at))).scalars())


async def test_two_schedulers_insert_each_slot_once(container: Container) -> None:
    first = Scheduler(container, entries=[EVERY])
    second = Scheduler(container, entries=[EVERY])
    now = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)

    assert await first.tick(now) == ["test.record"]
    assert await second.tick(now) == []
    assert await first.tick(now + timedelta(seconds=20)) == []
    assert await second.tick(now + timedelta(seconds=29)) == []

    jobs = await _jobs(container)
    slot = int(now.timestamp()) // 60
    assert [(j.dedup_key, j.run_at) for j in jobs] == [
        (f"periodic:test.record:{slot}", datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    ]

    assert await second.tick(now + timedelta(seconds=30)) == ["test.record"]
    assert await first.tick(now + timedelta(seconds=31)) == []
    assert [j.dedup_key for j in await _jobs(container)] == [
        f"periodic:test.record:{slot}",
        f"periodic:test.record:{slot + 1}",
    ]


async def test_periodic_job_runs_with_its_payload(container: Container) -> None:
    await Scheduler(container, entries=[EVERY]).tick()

    assert await Worker(container, listen=False).run_once() == 1
    assert [m["label"] for m in await read_marks(container.db)] == ["tick"]


def test_prune_is_registered_as_periodic() -> None:
    load_handler_modules()
    assert all_periodic()["jobs.prune"].every == 3600


async def test_prune_deletes_old_done_jobs_and_keeps_dead_ones_for_90_days(container: Container) -> None:
    now = utcnow()
    ages = {
        "done-old": (DONE, timedelta(days=8)),
        "done-recent": (DONE, timedelta(days=6)),
        "dead-old": (DEAD, timedelta(days=91)),
        "dead-recent": (DEAD, timedelta(days=30)),
        "queued-old": (QUEUED, timedelta(days=200)),
    }
    ids = {name: await enqueue(container, "test.record", {"label": name}) for name in ages}
    async with container.db.uow() as uow:
        for name, (state, age) in ages.items():
            job = await uow.session.get(Job, ids[name])
            assert job is not None
            job.state = state
            job.created_at = now - age
            if state == QUEUED:
                job.run_at = now + timedelta(days=1)
            else:
                job.finished_at = now - age
    prune_id = await enqueue(container, "jobs.prune")

    assert await Worker(container, listen=False).run_once() == 1

    remaining = {job.id for job in await _jobs(container)}
    assert remaining == {ids["done-recent"], ids["dead-recent"], ids["queued-old"], prune_id}
