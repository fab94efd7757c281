"""POST /api/v1/apps and GET /api/v1/apps/verify_credentials."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.oauth.models import Application
from kinfolk.domain.oauth.service import APP_CREATE_LIMIT_PER_IP

OOB = "urn:ietf:wg:oauth:2.0:oob"


async def _count_apps(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Application))).scalar_one())


async def test_create_app_returns_credential_application(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/apps",
        data={
            "client_name": "Test app",
            "redirect_uris": f"https://app.example/callback\n{OOB}",
            "scopes": "read write push",
            "website": "https://app.example",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["id"], str) and body["id"].isdigit()
    assert body["name"] == "Test app"
    assert body["website"] == "https://app.example"
    assert body["scopes"] == ["read", "write", "push"]
    assert body["redirect_uris"] == ["https://app.example/callback", OOB]
    assert body["redirect_uri"] == f"https://app.example/callback\n{OOB}"
    assert body["client_id"] and body["client_secret"] and body["client_id"] != body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    # The instance's VAPID key, the same one the instance API advertises for Web Push.
    instance = (await client.get("/api/v2/instance")).json()
    assert body["vapid_key"] == instance["configuration"]["vapid"]["public_key"]


async def test_create_app_defaults_and_arrays(client: httpx.AsyncClient, container: Container) -> None:
    container.extras["vapid_public_key"] = "BPublicKey"
    response = await client.post(
        "/api/v1/apps",
        data={"client_name": "Arr", "redirect_uris[]": ["https://a.example/cb", "tusky://oauth"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scopes"] == ["read"]
    assert body["website"] is None
    assert body["redirect_uris"] == ["https://a.example/cb", "tusky://oauth"]
    assert body["vapid_key"] == "BPublicKey"

    response = await client.post(
        "/api/v1/apps",
        json={"client_name": "Json", "redirect_uris": [OOB], "scopes": "read:statuses write:media"},
    )
    assert response.status_code == 200
    assert response.json()["scopes"] == ["read:statuses", "write:media"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"redirect_uris": OOB}, "name"),
        ({"client_name": "   ", "redirect_uris": OOB}, "name"),
        ({"client_name": "x" * 61, "redirect_uris": OOB}, "name"),
        ({"client_name": "A"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": "not a uri"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": "/relative/path"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": "https://app.example/cb#frag"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": "javascript:alert(1)"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": "https:///nohost"}, "redirect_uri"),
        ({"client_name": "A", "redirect_uris": OOB, "scopes": "read bogus"}, "scopes"),
        ({"client_name": "A", "redirect_uris": OOB, "website": "not a url"}, "website"),
    ],
)
async def test_create_app_validation(
    client: httpx.AsyncClient, container: Container, params: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/apps", data=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"].startswith("Validation failed: ")
    assert field in body["details"]
    assert await _count_apps(container) == 0


async def test_create_app_wrong_types_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/apps", json={"client_name": {"a": 1}, "redirect_uris": OOB})
    assert response.status_code == 422


async def test_create_app_is_rate_limited_per_ip(client: httpx.AsyncClient, container: Container) -> None:
    limit, period = APP_CREATE_LIMIT_PER_IP
    for _ in range(limit - 1):
        await container.ratelimiter.hit("apps:create:127.0.0.1", limit, period)
    ok = await client.post("/api/v1/apps", data={"client_name": "last", "redirect_uris": OOB})
    assert ok.status_code == 200
    refused = await client.post("/api/v1/apps", data={"client_name": "over", "redirect_uris": OOB})
    assert refused.status_code == 429
    assert await _count_apps(container) == 1


async def test_verify_credentials_with_app_and_user_tokens(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    app = await oauth.register(scopes="read write")
    token = await oauth.token(app, grant_type="client_credentials", scope="read")
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    response = await client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "App"
    assert body["scopes"] == ["read", "write"]
    assert body["redirect_uris"] == [OOB]
    assert "client_secret" not in body and "client_id" not in body

    user = await make_user("alice")
    response = await client.get("/api/v1/apps/verify_credentials", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "test-alice"


async def test_verify_credentials_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/apps/verify_credentials")).status_code == 401
    bad = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "The access token is invalid"}


async def test_apps_endpoints_allow_browser_clients(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/api/v1/apps", headers={"Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    created = await client.post("/api/v1/apps", data={"client_name": "Web", "redirect_uris": OOB})
    assert created.headers["access-control-allow-origin"] == "*"
    refused = await client.get("/api/v1/apps/verify_credentials")
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"
