"""The media flows with S3 storage configured, against a real S3-compatible server (moto's
server mode on 127.0.0.1): files land in the bucket and are served from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from mastodon import Mastodon
from tests.domain.media import live, s3server, samples

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.infra.storage import S3Storage

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


@pytest.fixture
def bucket() -> tuple[str, str]:
    return s3server.new_bucket()


@pytest.fixture
def settings(settings: Settings, bucket: tuple[str, str]) -> Settings:
    url, name = bucket
    settings.s3_bucket = name
    settings.s3_endpoint = url
    settings.s3_region = s3server.REGION
    settings.s3_access_key = s3server.ACCESS_KEY
    settings.s3_secret_key = s3server.SECRET_KEY
    return settings


async def test_uploads_are_stored_and_served_by_the_bucket(
    client: httpx.AsyncClient,
    make_user: Any,
    container: Container,
    drain_jobs: Any,
    bucket: tuple[str, str],
    tmp_path: Path,
) -> None:
    assert isinstance(container.storage, S3Storage)
    url, name = bucket
    alice = await make_user("alice")
    picture = await client.post(
        "/api/v2/media",
        headers=alice.headers,
        files={"file": ("p.jpg", samples.jpeg_rotated(), "image/jpeg")},
    )
    assert picture.status_code == 200, picture.text
    body = picture.json()
    assert body["url"].startswith(f"{url}/{name}/attachments/")
    clip = samples.video(tmp_path / "c.webm", codec="libvpx-vp9", audio="libopus", container="webm")
    video = await client.post(
        "/api/v2/media", headers=alice.headers, files={"file": ("c.webm", clip.read_bytes(), "video/webm")}
    )
    assert video.status_code == 202
    assert any(key.endswith(".bin") for key in s3server.list_keys(url, name))  # the raw upload, for the job
    await drain_jobs()
    done = (await client.get(f"/api/v1/media/{video.json()['id']}", headers=alice.headers)).json()
    assert not any(key.endswith(".bin") for key in s3server.list_keys(url, name))

    async with httpx.AsyncClient() as outside:
        for item, kind in ((body, "image/jpeg"), (done, "video/mp4")):
            served = await outside.get(item["url"])
            assert served.status_code == 200
            assert served.headers["content-type"] == kind
            assert (await outside.get(item["preview_url"])).status_code == 200

    assert (await client.delete(f"/api/v1/media/{body['id']}", headers=alice.headers)).status_code == 200
    assert (await client.delete(f"/api/v1/media/{done['id']}", headers=alice.headers)).status_code == 200
    await drain_jobs()
    assert s3server.list_keys(url, name) == []


async def test_bad_input_leaves_the_bucket_empty(
    client: httpx.AsyncClient, make_user: Any, bucket: tuple[str, str], tmp_path: Path
) -> None:
    url, name = bucket
    alice = await make_user("alice")
    for file in (
        ("bomb.png", samples.png_claiming(100_000, 100_000), "image/png"),
        ("x.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
        (
            "big.mp4",
            samples.video(tmp_path / "b.mp4", width=4000, height=2200, frames=1).read_bytes(),
            "video/mp4",
        ),
    ):
        response = await client.post("/api/v2/media", headers=alice.headers, files={"file": file})
        assert response.status_code == 422
    assert s3server.list_keys(url, name) == []


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, bucket: tuple[str, str]) -> tuple[str, str]:
    """The live server reads its settings from the environment, as a deployment does."""
    url, name = bucket
    for key, value in {
        "S3_BUCKET": name,
        "S3_ENDPOINT": url,
        "S3_REGION": s3server.REGION,
        "S3_ACCESS_KEY": s3server.ACCESS_KEY,
        "S3_SECRET_KEY": s3server.SECRET_KEY,
    }.items():
        monkeypatch.setenv(f"KINFOLK_{key}", value)
    return bucket


def test_mastodon_py_round_trip_with_s3(s3_env: tuple[str, str], live_server: Any, tmp_path: Path) -> None:
    url, name = s3_env
    assert isinstance(live_server.container.storage, S3Storage)
    token = live_server.run(live.seed_user(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=token, version_check_mode="none")
    try:
        ids = []
        for path, mime, _ in live.sample_files(tmp_path).values():
            with path.open("rb") as fh:
                ids.append(api.media_post(fh, mime_type=mime, description=path.name).id)
        live_server.run(live.run_jobs(live_server))
        status = api.status_post("from the bucket", media_ids=ids[:3])
        film = api.status_post("a film", media_ids=ids[3:4])
        song = api.status_post("and a song", media_ids=ids[4:])
        items = status["media_attachments"] + film["media_attachments"] + song["media_attachments"]
        assert [i["type"] for i in items] == ["image", "image", "gifv", "video", "audio"]
        for item in items:
            assert item["url"].startswith(f"{url}/{name}/")
            assert requests.get(item["url"], timeout=10).status_code == 200
    finally:
        api.session.close()
