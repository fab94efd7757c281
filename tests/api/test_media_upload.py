"""Media uploads through the API: pictures answer 200 at once, video and audio 202 and are
transcoded by a job; the entity has Mastodon's shape; every URL serves its file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from tests.domain.media import samples

from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.jobs.models import Job

JPEG = ("photo.jpg", samples.jpeg_rotated(), "image/jpeg")


async def upload(
    client: httpx.AsyncClient,
    user: Any,
    file: tuple[str, bytes, str],
    *,
    version: int = 2,
    **data: str,
) -> httpx.Response:
    return await client.post(f"/api/v{version}/media", headers=user.headers, files={"file": file}, data=data)


async def fetch(client: httpx.AsyncClient, url: str) -> httpx.Response:
    assert url.startswith("https://kinfolk.test/media/"), url
    return await client.get(url.removeprefix("https://kinfolk.test"))


async def media_rows(container: Container) -> list[MediaAttachment]:
    async with container.db.uow(write=False) as uow:
        return list((await uow.session.execute(select(MediaAttachment))).scalars())


async def test_a_jpeg_is_processed_at_once_with_mastodons_shape(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    response = await upload(client, alice, JPEG, description="A test", focus="-0.5,0.25")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "id", "type", "url", "preview_url", "remote_url", "preview_remote_url", "text_url", "meta",
        "description", "blurhash",
    }  # fmt: skip
    assert body["type"] == "image"
    assert body["description"] == "A test"
    assert body["remote_url"] is None and body["preview_remote_url"] is None
    # EXIF orientation applied: stored 200x100 sideways, shown 100x200.
    assert body["meta"]["original"] == {"width": 100, "height": 200, "size": "100x200", "aspect": 0.5}
    assert body["meta"]["small"]["width"] == 100
    assert body["meta"]["focus"] == {"x": -0.5, "y": 0.25}
    assert isinstance(body["blurhash"], str) and len(body["blurhash"]) > 20
    served = await fetch(client, body["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert b"SpyCam" not in served.content
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (100, 200)
        assert 0x0112 not in image.getexif()
    preview = await fetch(client, body["preview_url"])
    assert preview.status_code == 200
    # Never under the client's name.
    assert "photo" not in body["url"]

    shown = await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert shown.status_code == 200
    assert shown.json() == body


async def test_big_pictures_are_scaled_to_mastodons_sizes(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    response = await upload(client, alice, ("big.png", samples.png(4000, 2500), "image/png"))
    assert response.status_code == 200, response.text
    meta = response.json()["meta"]
    assert meta["original"]["width"] * meta["original"]["height"] <= 3840 * 2160
    assert meta["original"]["width"] == 3642
    assert meta["small"]["width"] * meta["small"]["height"] <= 480 * 480
    assert "focus" not in meta
    served = await fetch(client, response.json()["url"])
    assert served.headers["content-type"] == "image/png"


async def test_a_video_is_transcoded_by_a_job(
    client: httpx.AsyncClient, make_user: Any, container: Container, drain_jobs: Any, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(
        tmp_path / "clip.webm", codec="libvpx-vp9", audio="libopus", container="webm"
    ).read_bytes()
    response = await upload(client, alice, ("clip.webm", data, "video/webm"), focus="0.1,0.2")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["type"] == "video" and body["url"] is None
    assert body["preview_url"] is not None
    assert body["meta"]["original"]["width"] == 64 and body["meta"]["original"]["frame_rate"] == "30/1"
    assert body["meta"]["small"] == {"width": 64, "height": 48, "size": "64x48", "aspect": 64 / 48}

    pending = await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert pending.status_code == 206
    # Posting it now is refused.
    early = await client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "x", "media_ids[]": body["id"]}
    )
    assert early.status_code == 422

    await drain_jobs()
    ready = await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert ready.status_code == 200
    done = ready.json()
    assert done["url"].endswith(".mp4")
    assert set(done["meta"]["original"]) == {"width", "height", "frame_rate", "duration", "bitrate"}
    assert done["meta"]["focus"] == {"x": 0.1, "y": 0.2}
    served = await fetch(client, done["url"])
    assert served.headers["content-type"] == "video/mp4"
    ranged = await client.get(
        done["url"].removeprefix("https://kinfolk.test"), headers={"Range": "bytes=0-99"}
    )
    assert ranged.status_code == 206 and len(ranged.content) == 100
    with av_open(served.content) as probe:
        assert probe == ("h264", "aac")
    # The raw upload is gone once processed.
    rows = await media_rows(container)
    assert rows[0].original_key is None
    assert not [p for p in samples.files_under(container.settings.media_dir) if p.suffix == ".bin"]

    status = await client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "look", "media_ids[]": body["id"]}
    )
    assert status.status_code == 200, status.text
    attached = status.json()["media_attachments"]
    assert [a["id"] for a in attached] == [body["id"]]
    assert attached[0]["url"] == done["url"]
    # Posted media is no longer editable here.
    assert (await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)).status_code == 404


class av_open:
    """Codec names of the first video and audio streams of some bytes."""

    def __init__(self, data: bytes) -> None:
        import av

        self.container = av.open(io.BytesIO(data))

    def __enter__(self) -> tuple[str | None, str | None]:
        c = self.container
        video = c.streams.video[0].codec_context.name if c.streams.video else None
        audio = c.streams.audio[0].codec_context.name if c.streams.audio else None
        return video, audio

    def __exit__(self, *args: object) -> None:
        self.container.close()


async def test_web_safe_mp4_keeps_its_streams(
    client: httpx.AsyncClient, make_user: Any, drain_jobs: Any, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "clip.mp4").read_bytes()
    response = await upload(client, alice, ("clip.mp4", data, "video/mp4"))
    assert response.status_code == 202
    await drain_jobs()
    done = (await client.get(f"/api/v1/media/{response.json()['id']}", headers=alice.headers)).json()
    with av_open((await fetch(client, done["url"])).content) as codecs:
        assert codecs == ("h264", "aac")


async def test_animated_gif_becomes_gifv_and_audio_becomes_mp3(
    client: httpx.AsyncClient, make_user: Any, drain_jobs: Any, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    gif = await upload(client, alice, ("a.gif", samples.animated_gif(), "image/gif"))
    assert gif.status_code == 202
    assert gif.json()["type"] == "gifv"
    wav = samples.audio(tmp_path / "a.wav", codec="pcm_s16le", container="wav").read_bytes()
    sound = await upload(client, alice, ("a.wav", wav, "audio/wav"))
    assert sound.status_code == 202
    assert sound.json()["type"] == "audio"
    assert sound.json()["preview_url"] is None
    await drain_jobs()
    gifv = (await client.get(f"/api/v1/media/{gif.json()['id']}", headers=alice.headers)).json()
    assert gifv["url"].endswith(".mp4")
    with av_open((await fetch(client, gifv["url"])).content) as codecs:
        assert codecs == ("h264", None)
    mp3 = (await client.get(f"/api/v1/media/{sound.json()['id']}", headers=alice.headers)).json()
    assert mp3["url"].endswith(".mp3")
    assert set(mp3["meta"]["original"]) == {"duration", "bitrate"}
    assert (await fetch(client, mp3["url"])).headers["content-type"] == "audio/mpeg"


async def test_static_gif_is_an_image(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    response = await upload(
        client, alice, ("s.gif", samples.image_bytes(samples.halves(20, 20), "GIF"), "image/gif")
    )
    assert response.status_code == 200
    assert response.json()["type"] == "image"


async def test_v1_upload_finishes_videos_before_answering(
    client: httpx.AsyncClient, make_user: Any, container: Container, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "clip.mp4").read_bytes()
    response = await upload(client, alice, ("clip.mp4", data, "video/mp4"), version=1)
    assert response.status_code == 200, response.text
    assert response.json()["url"].endswith(".mp4")
    async with container.db.uow(write=False) as uow:
        jobs = (await uow.session.execute(select(func.count()).where(Job.kind == "media.process"))).scalar()
    assert jobs == 0


async def test_supplied_thumbnail_wins_and_put_edits(
    client: httpx.AsyncClient, make_user: Any, container: Container, drain_jobs: Any, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "clip.mp4").read_bytes()
    thumb = samples.image_bytes(Image.new("RGB", (400, 400), (10, 200, 30)), "JPEG")
    response = await client.post(
        "/api/v2/media",
        headers=alice.headers,
        files={"file": ("clip.mp4", data, "video/mp4"), "thumbnail": ("t.jpg", thumb, "image/jpeg")},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["meta"]["small"]["width"] == 400
    assert set(body["meta"]["colors"]) == {"background", "foreground", "accent"}
    assert (await fetch(client, body["preview_url"])).status_code == 200

    new_thumb = samples.image_bytes(Image.new("RGB", (300, 200), (200, 20, 30)), "PNG")
    edited = await client.put(
        f"/api/v1/media/{body['id']}",
        headers=alice.headers,
        data={"description": "edited", "focus": "0.69,0.69"},
        files={"thumbnail": ("t.png", new_thumb, "image/png")},
    )
    assert edited.status_code == 206, edited.text
    assert edited.json()["description"] == "edited"
    assert edited.json()["meta"]["focus"] == {"x": 0.69, "y": 0.69}
    assert edited.json()["meta"]["small"]["width"] == 300
    assert edited.json()["preview_url"] != body["preview_url"]
    await drain_jobs()  # the old thumbnail's file is removed by a job
    old_key = body["preview_url"].split("/media/", 1)[1]
    assert not (container.settings.media_dir / old_key).exists()
    done = await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert done.status_code == 200
    assert done.json()["preview_url"] == edited.json()["preview_url"]
    assert done.json()["meta"]["small"]["width"] == 300


async def test_json_put_edits_description_only(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    body = (await upload(client, alice, JPEG)).json()
    edited = await client.put(f"/api/v1/media/{body['id']}", headers=alice.headers, json={"description": "x"})
    assert edited.status_code == 200
    assert edited.json()["description"] == "x"
    assert edited.json()["url"] == body["url"]


async def test_delete_unattached_media_removes_row_and_files(
    client: httpx.AsyncClient, make_user: Any, container: Container, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    body = (await upload(client, alice, JPEG)).json()
    assert (await client.delete(f"/api/v1/media/{body['id']}", headers=bob.headers)).status_code == 404
    gone = await client.delete(f"/api/v1/media/{body['id']}", headers=alice.headers)
    assert gone.status_code == 200 and gone.json() == {}
    await drain_jobs()
    assert await media_rows(container) == []
    assert samples.files_under(container.settings.media_dir) == []

    posted = (await upload(client, alice, JPEG)).json()
    status = await client.post(
        "/api/v1/statuses", headers=alice.headers, data={"status": "x", "media_ids[]": posted["id"]}
    )
    assert status.status_code == 200
    in_use = await client.delete(f"/api/v1/media/{posted['id']}", headers=alice.headers)
    assert in_use.status_code == 422
    assert in_use.json()["error"] == "Media attachment is currently used by a status"


async def test_other_peoples_media_is_not_found(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    body = (await upload(client, alice, JPEG)).json()
    for method in ("GET", "PUT"):
        response = await client.request(method, f"/api/v1/media/{body['id']}", headers=bob.headers)
        assert response.status_code == 404
    assert (await client.get("/api/v1/media/nope", headers=alice.headers)).status_code == 404


async def test_scopes_and_tokens(client: httpx.AsyncClient, make_user: Any) -> None:
    reader = await make_user("reader", scopes="read")
    assert (await upload(client, reader, JPEG)).status_code == 403
    no_token = await client.post("/api/v2/media", files={"file": JPEG})
    assert no_token.status_code == 401
    media_only = await make_user("media", scopes="write:media")
    assert (await upload(client, media_only, JPEG)).status_code == 200


async def test_description_and_focus_are_validated(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    too_long = await upload(client, alice, JPEG, description="x" * 1501)
    assert too_long.status_code == 422
    assert "Description is too long" in too_long.json()["error"]
    assert (await upload(client, alice, JPEG, focus="2,0")).status_code == 422
    assert (await upload(client, alice, JPEG, focus="abc")).status_code == 422
    ok = await upload(client, alice, JPEG, description="x" * 1500)
    assert ok.status_code == 200


async def test_rotated_phone_video_shows_upright_sizes(
    client: httpx.AsyncClient, make_user: Any, drain_jobs: Any, tmp_path: Path
) -> None:
    alice = await make_user("alice")
    data = samples.video(tmp_path / "phone.mp4", width=64, height=48, rotation=90).read_bytes()
    body = (await upload(client, alice, ("phone.mp4", data, "video/mp4"))).json()
    assert body["meta"]["small"]["width"] == 48 and body["meta"]["small"]["height"] == 64
    assert (body["meta"]["original"]["width"], body["meta"]["original"]["height"]) == (48, 64)
    await drain_jobs()
    done = (await client.get(f"/api/v1/media/{body['id']}", headers=alice.headers)).json()
    assert (done["meta"]["original"]["width"], done["meta"]["original"]["height"]) == (48, 64)


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF", "HEIF"])
async def test_other_picture_formats(client: httpx.AsyncClient, make_user: Any, fmt: str) -> None:
    alice = await make_user("alice")
    data = samples.image_bytes(samples.halves(80, 60), fmt)
    mime = {"WEBP": "image/webp", "AVIF": "image/avif", "HEIF": "image/heic"}[fmt]
    response = await upload(client, alice, ("pic", data, mime))
    assert response.status_code == 200, response.text
    expected = ".webp" if fmt == "WEBP" else ".jpg"
    assert response.json()["url"].endswith(expected)
    assert response.json()["meta"]["original"]["size"] == "80x60"
