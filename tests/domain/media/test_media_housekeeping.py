"""Housekeeping: unattached uploads go after a day (rows and files), except those a scheduled
post will use; cached copies of remote media go after the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from tests.domain.media import samples

from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.statuses.models import ScheduledStatus
from kinfolk.jobs.registry import handler_for
from kinfolk.jobs.scheduler import all_periodic
from kinfolk.kernel.clock import utcnow


async def _upload(client: httpx.AsyncClient, user: Any) -> str:
    response = await client.post(
        "/api/v2/media", headers=user.headers, files={"file": ("p.png", samples.png(40, 30), "image/png")}
    )
    assert response.status_code == 200
    return str(response.json()["id"])


async def _age(container: Container, media_id: str, days: float) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id == int(media_id))
            .values(created_at=utcnow() - timedelta(days=days))
        )


async def _ids(container: Container) -> set[str]:
    async with container.db.uow(write=False) as uow:
        return {str(i) for i in (await uow.session.execute(select(MediaAttachment.id))).scalars()}


async def _run(container: Container, kind: str, drain_jobs: Any) -> None:
    async with container.db.uow() as uow:
        await uow.enqueue(kind, {})
    await drain_jobs()


def test_housekeeping_jobs_are_periodic() -> None:
    import kinfolk.domain.media.jobs  # noqa: F401  (registers the kinds)

    periodic = all_periodic()
    for kind in ("media.remove_unattached", "media.remove_remote_cache"):
        assert kind in periodic
        assert handler_for(kind) is not None


async def test_unattached_uploads_older_than_a_day_are_removed(
    client: httpx.AsyncClient, make_user: Any, container: Container, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    fresh = await _upload(client, alice)
    old = await _upload(client, alice)
    posted = await _upload(client, alice)
    scheduled = await _upload(client, alice)
    status = await client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "x", "media_ids[]": posted}
    )
    assert status.status_code == 200
    when = (utcnow() + timedelta(days=3)).isoformat()
    later = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        data={"status": "later", "media_ids[]": scheduled, "scheduled_at": when},
    )
    assert later.status_code == 200, later.text
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(ScheduledStatus))).scalars().first() is not None
    for media_id in (old, posted, scheduled):
        await _age(container, media_id, 2)
    old_files = {
        p for p in samples.files_under(container.settings.media_dir) if f"/attachments/{old}/" in str(p)
    }
    assert len(old_files) == 2  # the picture and its preview

    await _run(container, "media.remove_unattached", drain_jobs)

    assert await _ids(container) == {fresh, posted, scheduled}
    assert not any(p.exists() for p in old_files)


async def test_cached_remote_media_is_forgotten_after_the_retention_period(
    container: Container, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    key = "attachments/1/abc-original.png"
    await container.storage.put(key, samples.png(10, 10), "image/png")
    async with container.db.uow() as uow:
        for age, file_key in ((10, key), (1, "attachments/2/def-original.png")):
            uow.session.add(
                MediaAttachment(
                    account_id=alice.account_id,
                    remote_url=f"https://remote.example/{age}.png",
                    file_key=file_key,
                    created_at=utcnow() - timedelta(days=age),
                )
            )
    await _run(container, "media.remove_remote_cache", drain_jobs)
    async with container.db.uow(write=False) as uow:
        rows = {m.remote_url: m for m in (await uow.session.execute(select(MediaAttachment))).scalars()}
    assert rows["https://remote.example/10.png"].file_key is None
    assert rows["https://remote.example/1.png"].file_key is not None
    assert not (container.settings.media_dir / key).exists()

    container.settings.media_cache_retention_days = 0  # keep forever
    async with container.db.uow() as uow:
        await uow.session.execute(update(MediaAttachment).values(created_at=utcnow() - timedelta(days=400)))
    await _run(container, "media.remove_remote_cache", drain_jobs)
    async with container.db.uow(write=False) as uow:
        kept = (await uow.session.execute(select(MediaAttachment.file_key))).scalars().all()
    assert "attachments/2/def-original.png" in kept
