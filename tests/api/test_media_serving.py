"""Serving stored files: type from our extension, hardening headers, ranges, and refusals."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import httpx
import pytest
from PIL import Image

from kinfolk.container import Container


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """Serving files never touches the database, so one backend is enough here."""
    path = tmp_path / "kinfolk.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def assert_hardened(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert response.headers["access-control-allow-origin"] == "*"


async def test_a_stored_file_is_served_with_its_type_and_cache_headers(
    client: httpx.AsyncClient, container: Container
) -> None:
    await container.storage.put("accounts/avatars/1/abc123.png", PNG, "image/png")
    response = await client.get("/media/accounts/avatars/1/abc123.png")
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["accept-ranges"] == "bytes"
    assert_hardened(response)


async def test_range_requests(client: httpx.AsyncClient, container: Container) -> None:
    await container.storage.put("media/clip.mp4", PNG, "video/mp4")
    response = await client.get("/media/media/clip.mp4", headers={"Range": "bytes=8-17"})
    assert response.status_code == 206
    assert response.content == PNG[8:18]
    assert response.headers["content-range"] == f"bytes 8-17/{len(PNG)}"
    assert response.headers["content-type"] == "video/mp4"
    tail = await client.get("/media/media/clip.mp4", headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == PNG[-4:]
    beyond = await client.get("/media/media/clip.mp4", headers={"Range": f"bytes={len(PNG) + 10}-"})
    assert beyond.status_code == 416


async def test_head_sends_headers_only(client: httpx.AsyncClient, container: Container) -> None:
    await container.storage.put("a/b.png", PNG, "image/png")
    response = await client.head("/media/a/b.png")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(PNG))


async def test_html_stored_under_an_image_name_is_still_an_image(
    client: httpx.AsyncClient, container: Container
) -> None:
    await container.storage.put("x/page.png", b"<html><script>alert(1)</script></html>", "image/png")
    response = await client.get("/media/x/page.png")
    assert response.headers["content-type"] == "image/png"
    assert_hardened(response)


async def test_unknown_extensions_are_downloads(client: httpx.AsyncClient, container: Container) -> None:
    await container.storage.put("x/data.json", b'{"type": "Person"}', "application/json")
    response = await client.get("/media/x/data.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == "attachment"
    assert_hardened(response)


@pytest.mark.parametrize(
    "path",
    [
        "/media/nothing/here.png",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/..%2f..%2fetc%2fpasswd",
        "/media/x/UPPER.PNG",
        "/media/x/page.png.tmp",
        "/media/x",
        "/media/",
    ],
)
async def test_missing_and_unsafe_keys_are_404(
    client: httpx.AsyncClient, container: Container, path: str
) -> None:
    await container.storage.put("x/page.png", PNG, "image/png")
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


@pytest.mark.parametrize(
    ("path", "size"),
    [("/avatars/original/missing.png", (400, 400)), ("/headers/original/missing.png", (1500, 500))],
)
async def test_default_images(client: httpx.AsyncClient, path: str, size: tuple[int, int]) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "max-age" in response.headers["cache-control"]
    assert_hardened(response)
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG" and image.size == size
