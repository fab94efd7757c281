"""S3Storage against a real S3-compatible server (moto's server mode) over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.domain.media import s3server

from kinfolk.config import Settings
from kinfolk.infra.storage import S3Storage, build_storage


@pytest.fixture
def s3() -> S3Storage:
    url, bucket = s3server.new_bucket()
    return S3Storage(
        bucket=bucket,
        endpoint=url,
        region=s3server.REGION,
        access_key=s3server.ACCESS_KEY,
        secret_key=s3server.SECRET_KEY,
    )


async def test_put_get_download_delete(s3: S3Storage, tmp_path: Path) -> None:
    await s3.put("attachments/1/abc-original.png", b"\x89PNG data", "image/png")
    assert await s3.exists("attachments/1/abc-original.png")
    assert await s3.get("attachments/1/abc-original.png") == b"\x89PNG data"
    source = tmp_path / "clip"
    source.write_bytes(b"video bytes" * 1000)
    await s3.put_file("attachments/1/abc-original.mp4", source, "video/mp4")
    await s3.download("attachments/1/abc-original.mp4", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == source.read_bytes()
    await s3.delete("attachments/1/abc-original.png")
    assert not await s3.exists("attachments/1/abc-original.png")
    await s3.delete("attachments/1/never-was.png")  # deleting a missing key is not an error


async def test_files_are_served_by_the_bucket_with_our_types(s3: S3Storage) -> None:
    await s3.put("a/b-original.jpg", b"\xff\xd8\xff jpeg", "text/html")
    await s3.put("a/b-upload.bin", b"raw", "application/octet-stream")
    url = s3.url("a/b-original.jpg")
    assert url == f"{s3.base_url}/a/b-original.jpg"
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
        assert response.status_code == 200
        assert response.content == b"\xff\xd8\xff jpeg"
        # The type follows the key, never what the caller claimed.
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        raw = await client.get(s3.url("a/b-upload.bin"))
        assert raw.headers["content-type"] == "application/octet-stream"
        assert raw.headers["content-disposition"] == "attachment"


async def test_unsafe_keys_are_refused(s3: S3Storage) -> None:
    for key in ("../x.png", "/etc/passwd", "a/../../b.png", "A.PNG"):
        with pytest.raises(ValueError):
            await s3.put(key, b"x", "image/png")


def test_a_bucket_setting_selects_s3(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        s3_bucket="media",
        s3_endpoint="http://127.0.0.1:9",
        s3_public_url="https://files.example/media/",
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.url("a/b.png") == "https://files.example/media/a/b.png"
    plain = build_storage(Settings(data_dir=tmp_path, domain="social.example"))
    assert plain.url("a/b.png") == "https://social.example/media/a/b.png"
