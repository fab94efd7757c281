"""Small helpers shared by the job tests."""

from __future__ import annotations

from typing import Any

from kinfolk.container import Container
from kinfolk.jobs.models import Job


async def load_job(container: Container, job_id: int) -> Job:
    async with container.db.uow(write=False) as uow:
        job = await uow.session.get(Job, job_id)
        assert job is not None
        return job


async def enqueue(
    container: Container, kind: str, payload: dict[str, Any] | None = None, **options: Any
) -> int:
    async with container.db.uow() as uow:
        job_id = await uow.enqueue(kind, payload or {}, **options)
    assert job_id is not None
    return job_id
