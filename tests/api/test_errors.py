"""Errors from the real application: always Mastodon's JSON shape, never a 500."""

from __future__ import annotations

import httpx

from kinfolk.api.app import create_app
from kinfolk.container import Container


async def test_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no_such_thing")
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


async def test_oversized_streamed_body_is_a_413_through_the_whole_stack(container: Container) -> None:
    container.settings.max_body_bytes = 1000
    transport = httpx.ASGITransport(app=create_app(container), raise_app_exceptions=False)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"y" * 400

    async with httpx.AsyncClient(transport=transport, base_url="https://kinfolk.test") as c:
        declared = await c.post("/api/v1/apps", content=b"x" * 2000)
        streamed = await c.post(
            "/api/v1/apps", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json() == {"error": "Request entity too large"}
