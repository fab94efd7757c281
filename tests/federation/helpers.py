"""What the federation tests share: ActivityPub GETs and posting through the client API."""

from __future__ import annotations

from typing import Any

import httpx

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BASE = "https://kinfolk.test"


async def ap_get(client: httpx.AsyncClient, path: str, accept: str = AP) -> httpx.Response:
    return await client.get(path, headers={"Accept": accept})


async def ap_json(client: httpx.AsyncClient, path: str, accept: str = AP) -> dict[str, Any]:
    response = await ap_get(client, path, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/activity+json; charset=utf-8"
    assert "Accept" in response.headers["vary"]
    body: dict[str, Any] = response.json()
    return body


async def post(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
