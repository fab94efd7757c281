"""Hostile and broken uploads: each gets a clear 422 and leaves nothing behind (no row, no
job, no file), and processing never writes outside the media directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.domain.media import samples

from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.jobs.models import Job


async def post(
    client: httpx.AsyncClient, user: Any, name: str, data: bytes, mime: str, **extra: Any
) -> httpx.Response:
    files = {"file": (name, data, mime), **extra}
    return await client.post("/api/v2/media", headers=user.headers, files=files)


async def assert_nothing_stored(container: Container) -> None:
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(func.count()).select_from(MediaAttachment))).scalar()
        jobs = (await uow.session.execute(select(func.count()).where(Job.kind.like("media.%")))).scalar()
    assert rows == 0
    assert jobs == 0
    assert samples.files_under(container.settings.data_dir) == []


def assert_refused(response: httpx.Response, *fragments: str) -> None:
    assert response.status_code == 422, response.text
    message = response.json()["error"]
    assert message.startswith("Validation failed: ")
    for fragment in fragments:
        assert fragment in message


async def test_empty_file(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice = await make_user("alice")
    assert_refused(await post(client, alice, "e.png", b"", "image/png"), "empty")
    await assert_nothing_stored(container)


async def test_missing_file(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice = await make_user("alice")
    response = await client.post("/api/v2/media", headers=alice.headers, data={"description": "no file"})
    assert_refused(response, "File can't be blank")
    await assert_nothing_stored(container)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (samples.png(), "video/mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100, "image/jpeg"),
    ],
    ids=["png-as-video", "mp3-as-jpeg"],
)
async def test_a_file_that_is_not_what_its_type_says(
    client: httpx.AsyncClient, make_user: Any, container: Container, data: bytes, mime: str
) -> None:
    alice = await make_user("alice")
    assert_refused(await post(client, alice, "f", data, mime), "not what they are reported to be")
    await assert_nothing_stored(container)


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Person", "id": "https://x/u"}',
        b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
        b"just some text",
    ],
    ids=["html", "svg", "json-ld", "hls-playlist", "text"],
)
async def test_html_svg_and_others_named_png(
    client: httpx.AsyncClient, make_user: Any, container: Container, data: bytes
) -> None:
    alice = await make_user("alice")
    assert_refused(await post(client, alice, "cute.png", data, "image/png"), "content type is invalid")
    await assert_nothing_stored(container)


async def test_decompression_bomb(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice = await make_user("alice")
    started = time.monotonic()
    response = await post(client, alice, "bomb.png", samples.png_claiming(100_000, 100_000), "image/png")
    assert_refused(response, "too many pixels")
    assert time.monotonic() - started < 2
    await assert_nothing_stored(container)


async def test_bomb_as_thumbnail(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    clip = samples.video(tmp_path / "c.mp4").read_bytes()
    thumb = ("t.png", samples.png_claiming(100_000, 100_000), "image/png")
    response = await post(client, alice, "c.mp4", clip, "video/mp4", thumbnail=thumb)
    assert_refused(response, "Thumbnail", "too many pixels")
    await assert_nothing_stored(container)


async def test_truncated_picture(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice = await make_user("alice")
    for data, mime in ((samples.png(), "image/png"), (samples.jpeg_rotated(), "image/jpeg")):
        response = await post(client, alice, "t", data[: len(data) // 2], mime)
        assert_refused(response, "truncated or corrupt")
    await assert_nothing_stored(container)


async def test_truncated_video(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "c.mp4", frames=30).read_bytes()  # index at the end
    response = await post(client, alice, "c.mp4", data[: len(data) // 2], "video/mp4")
    assert_refused(response)
    await assert_nothing_stored(container)


async def test_a_path_in_the_filename_is_never_used(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    response = await post(client, alice, "../../../etc/cron.d/x.png", samples.png(), "image/png")
    assert response.status_code == 200
    url = response.json()["url"]
    assert ".." not in url and "cron" not in url and "/x.png" not in url
    media_dir = container.settings.media_dir.resolve()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".png", ".jpg"):
            assert path.resolve().is_relative_to(media_dir), path
    assert not list(tmp_path.rglob("x.png"))
    assert all("/.work/" not in str(p) for p in samples.files_under(media_dir))


async def test_video_over_the_resolution_limit(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "big.mp4", width=4000, height=2200, frames=1, audio=None).read_bytes()
    assert_refused(await post(client, alice, "big.mp4", data, "video/mp4"), "too large", "4000x2200")
    await assert_nothing_stored(container)


async def test_video_over_the_frame_rate_limit(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "fast.mp4", fps=240, frames=8, audio=None).read_bytes()
    assert_refused(await post(client, alice, "fast.mp4", data, "video/mp4"), "frame rate")
    await assert_nothing_stored(container)


async def test_video_over_the_frame_limit(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    container.settings.video_frame_limit = 20
    alice = await make_user("alice")
    data = samples.video(tmp_path / "long.mp4", frames=30, audio=None).read_bytes()
    assert_refused(await post(client, alice, "long.mp4", data, "video/mp4"), "too many frames")
    await assert_nothing_stored(container)


async def test_video_and_image_over_the_size_limits(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    container.settings.video_size_limit = 1024 * 1024
    container.settings.image_size_limit = 1024 * 1024
    alice = await make_user("alice")
    padded = samples.video(tmp_path / "c.mp4").read_bytes() + b"\0" * (1024 * 1024)
    assert_refused(await post(client, alice, "c.mp4", padded, "video/mp4"), "must be less than 1 MB")
    big_png = samples.png() + b"\0" * (1024 * 1024)
    assert_refused(await post(client, alice, "p.png", big_png, "image/png"), "must be less than 1 MB")
    await assert_nothing_stored(container)


async def test_the_instance_advertises_the_limits_the_upload_enforces(
    client: httpx.AsyncClient, container: Container
) -> None:
    container.settings.video_matrix_limit = 640 * 360
    container.settings.video_frame_rate_limit = 30
    config = (await client.get("/api/v2/instance")).json()["configuration"]["media_attachments"]
    assert config["video_matrix_limit"] == 640 * 360
    assert config["video_frame_rate_limit"] == 30
    assert config["image_size_limit"] == container.settings.image_size_limit
    assert config["description_limit"] == 1500


async def test_a_failed_job_leaves_a_422_and_no_files(
    client: httpx.AsyncClient, make_user: Any, container: Container, drain_jobs: Any, tmp_path: Path
) -> None:
    """A file that passes the header checks but breaks while transcoding is marked failed."""
    alice = await make_user("alice")
    data = samples.video(tmp_path / "c.webm", codec="libvpx-vp9", audio=None, container="webm", frames=20)
    body = (await post(client, alice, "c.webm", data.read_bytes(), "video/webm")).json()
    container.settings.video_frame_limit = 5  # lowered after upload: the job refuses it
    await drain_jobs()
    response = await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["error"] == "Error processing thumbnail for uploaded media"
    assert not [p for p in samples.files_under(container.settings.media_dir) if p.suffix in (".bin", ".mp4")]
