"""Request size limits: media uploads may be as large as a video plus a thumbnail, every other
endpoint keeps the general body limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.domain.media import samples

from kinfolk.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.max_body_bytes = 64 * 1024
    settings.image_size_limit = 128 * 1024
    settings.video_size_limit = 256 * 1024
    return settings


async def test_media_endpoints_take_bigger_bodies_than_the_rest(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    picture = samples.png(200, 200) + b"\0" * 80 * 1024  # over the general limit, under the image limit
    ok = await client.post(
        "/api/v2/media", headers=alice.headers, files={"file": ("p.png", picture, "image/png")}
    )
    assert ok.status_code == 200, ok.text
    too_big_for_images = samples.png(200, 200) + b"\0" * 200 * 1024
    refused = await client.post(
        "/api/v2/media", headers=alice.headers, files={"file": ("p.png", too_big_for_images, "image/png")}
    )
    assert refused.status_code == 422
    assert "must be less than 0.125 MB" in refused.json()["error"]
    huge = b"\0" * (2 * 1024 * 1024)
    over = await client.post(
        "/api/v2/media", headers=alice.headers, files={"file": ("x.mp4", huge, "video/mp4")}
    )
    assert over.status_code == 413
    status = await client.post("/api/v1/statuses", headers=alice.headers, data={"status": "x" * 70 * 1024})
    assert status.status_code == 413
