"""Remote media: downloaded from a real HTTP server on 127.0.0.1 into the upload pipeline, with
size and time limits, and never from private addresses unless the operator allows them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select
from tests.domain.media import samples

from kinfolk.api.entities.media_attachment import render_media
from kinfolk.container import Container
from kinfolk.domain.media import remote
from kinfolk.domain.media.models import MediaAttachment


@dataclass
class RemoteServer:
    url: str
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
async def origin() -> AsyncIterator[RemoteServer]:
    server = RemoteServer(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        server.hits.append(request.path)
        if request.path == "/moved":
            raise web.HTTPFound("/pic.png")
        if request.path == "/slow":
            await asyncio.sleep(server.delay)
        if request.path == "/endless":
            response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
            await response.prepare(request)
            chunk = b"\0" * 65536
            for _ in range(10_000):
                await response.write(chunk)
            return response
        data, mime = server.files.get(request.path, (b"", ""))
        if not mime:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type=mime)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
def allow_loopback(container: Container) -> None:
    container.settings.allowed_private_addresses = "127.0.0.1/32"
    container.settings.__dict__.pop("allowed_private_networks", None)  # a cached property


async def _add(container: Container, account_id: int, url: str, kind: str = "image") -> int:
    async with container.db.uow() as uow:
        media = await remote.add_remote_media(
            uow,
            container.settings,
            account_id=account_id,
            remote_url=url,
            media_type=kind,
            description="from afar",
            focus=(0.5, -0.5),
        )
    return media.id


async def _row(container: Container, media_id: int) -> MediaAttachment:
    async with container.db.uow(write=False) as uow:
        row = (
            await uow.session.execute(select(MediaAttachment).where(MediaAttachment.id == media_id))
        ).scalar_one()
    return row


async def test_a_remote_picture_is_cached_through_the_pipeline(
    container: Container, make_user: Any, drain_jobs: Any, origin: RemoteServer, allow_loopback: None
) -> None:
    alice = await make_user("alice")
    origin.files["/pic.png"] = (samples.png(800, 600), "image/png")
    media_id = await _add(container, alice.account_id, f"{origin.url}/moved")
    before = render_media(container.storage, await _row(container, media_id))
    assert before["url"] == f"{origin.url}/moved"  # shown from its origin until cached
    await drain_jobs()
    row = await _row(container, media_id)
    assert row.state == "ready" and row.file_key and row.preview_key
    body = render_media(container.storage, row)
    assert body["url"].startswith("https://kinfolk.test/media/attachments/")
    assert body["remote_url"] == f"{origin.url}/moved"
    assert body["meta"]["original"]["size"] == "800x600"
    assert body["meta"]["focus"] == {"x": 0.5, "y": -0.5}
    assert body["blurhash"]
    assert origin.hits == ["/moved", "/pic.png"]


async def test_a_remote_video_is_transcoded(
    container: Container,
    make_user: Any,
    drain_jobs: Any,
    origin: RemoteServer,
    allow_loopback: None,
    tmp_path: Path,
) -> None:
    alice = await make_user("alice")
    clip = samples.video(tmp_path / "c.webm", codec="libvpx-vp9", audio="libopus", container="webm")
    origin.files["/c.webm"] = (clip.read_bytes(), "video/webm")
    media_id = await _add(container, alice.account_id, f"{origin.url}/c.webm", "video")
    await drain_jobs()
    row = await _row(container, media_id)
    assert row.state == "ready" and row.type == "video"
    assert row.file_key is not None and row.file_key.endswith(".mp4")
    assert row.meta["original"]["frame_rate"]


async def test_private_addresses_are_refused_without_a_connection(
    container: Container, make_user: Any, drain_jobs: Any, origin: RemoteServer
) -> None:
    alice = await make_user("alice")
    origin.files["/pic.png"] = (samples.png(), "image/png")
    media_id = await _add(container, alice.account_id, f"{origin.url}/pic.png")
    await drain_jobs()
    row = await _row(container, media_id)
    assert row.state == "failed" and row.file_key is None
    assert "private address" in (row.last_error or "")
    assert origin.hits == []
    # Still shown from its origin.
    assert render_media(container.storage, row)["url"] == f"{origin.url}/pic.png"


async def test_localhost_by_name_is_refused_too(container: Container, origin: RemoteServer) -> None:
    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(remote.DownloadError, match="private address"):
        await remote.download(
            container.settings, f"http://localhost:{port}/x", Path("/nonexistent"), max_bytes=10
        )
    assert origin.hits == []


async def test_files_over_the_limit_are_aborted(
    container: Container, make_user: Any, drain_jobs: Any, origin: RemoteServer, allow_loopback: None
) -> None:
    container.settings.image_size_limit = container.settings.video_size_limit = 256 * 1024
    alice = await make_user("alice")
    media_id = await _add(container, alice.account_id, f"{origin.url}/endless", "video")
    await drain_jobs()
    row = await _row(container, media_id)
    assert row.state == "failed"
    assert "too large" in (row.last_error or "")
    assert samples.files_under(container.settings.media_dir) == []


async def test_slow_servers_hit_the_deadline(
    container: Container,
    make_user: Any,
    origin: RemoteServer,
    allow_loopback: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote, "TIMEOUT_SECONDS", 0.3)
    origin.delay = 1.2
    alice = await make_user("alice")
    media_id = await _add(container, alice.account_id, f"{origin.url}/slow")
    async with container.db.uow() as uow:
        await remote.fetch_remote(container.settings, container.storage, uow, media_id, last_attempt=True)
    row = await _row(container, media_id)
    assert row.state == "failed"
    assert "download failed" in (row.last_error or "")


async def test_not_media_is_refused(
    container: Container, make_user: Any, drain_jobs: Any, origin: RemoteServer, allow_loopback: None
) -> None:
    alice = await make_user("alice")
    origin.files["/evil.png"] = (b'{"type": "Person", "id": "https://x/u"}', "image/png")
    media_id = await _add(container, alice.account_id, f"{origin.url}/evil.png")
    await drain_jobs()
    row = await _row(container, media_id)
    assert row.state == "failed" and row.file_key is None
    assert samples.files_under(container.settings.media_dir) == []


async def test_caching_can_be_turned_off(container: Container, make_user: Any, drain_jobs: Any) -> None:
    container.settings.cache_remote_media = False
    alice = await make_user("alice")
    media_id = await _add(container, alice.account_id, "https://remote.example/a.png")
    assert await drain_jobs() == 0
    row = await _row(container, media_id)
    assert render_media(container.storage, row)["url"] == "https://remote.example/a.png"
