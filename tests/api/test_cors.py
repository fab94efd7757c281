"""CORS as Mastodon: the API, the token endpoints and the discovery documents are open to any
origin, without credentials, on every answer including errors; HTML pages and forms are not."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.api.edge_app import client_for, edge_app, user_with_token

from kinfolk.domain.accounts import service as accounts_service

ELK = {"Origin": "https://elk.zone"}
CORS_PATHS = [
    ("/api/v1/statuses", "POST"),
    ("/api/v1/statuses/1/favourite", "POST"),
    ("/api/v1/accounts/update_credentials", "PATCH"),
    ("/api/v1/statuses/1", "DELETE"),
    ("/api/v2/instance", "GET"),
    ("/oauth/token", "POST"),
    ("/oauth/revoke", "POST"),
    ("/.well-known/webfinger", "GET"),
    ("/.well-known/oauth-authorization-server", "GET"),
    ("/nodeinfo/2.0", "GET"),
]


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def test_preflights_are_answered_on_every_cors_path(sqlite_template: Path, tmp_path: Path) -> None:
    async with edge_app(sqlite_template, tmp_path) as (_, app), client_for(app) as client:
        for path, method in CORS_PATHS:
            response = await client.options(
                path,
                headers={
                    **ELK,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
                },
            )
            assert response.status_code == 204, path
            assert response.headers["access-control-allow-origin"] == "*"
            allowed = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
            assert {"GET", "POST", "PUT", "DELETE", "PATCH"} <= allowed
            assert (
                response.headers["access-control-allow-headers"]
                == "authorization, content-type, idempotency-key"
            )
            assert int(response.headers["access-control-max-age"]) > 0
            assert "access-control-allow-credentials" not in response.headers
        # Without a list asked for, the usual headers; a list with something odd in it is not echoed.
        plain = await client.options(
            "/api/v1/statuses", headers={**ELK, "Access-Control-Request-Method": "POST"}
        )
        assert "Authorization" in plain.headers["access-control-allow-headers"]
        assert "Idempotency-Key" in plain.headers["access-control-allow-headers"]
        odd = await client.options(
            "/api/v1/statuses",
            headers={
                **ELK,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x;y=<z>",
            },
        )
        assert "<z>" not in odd.headers["access-control-allow-headers"]


async def test_cross_origin_requests_and_their_errors_carry_cors(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with edge_app(sqlite_template, tmp_path) as (container, app), client_for(app) as client:
        _, token = await user_with_token(container, "alice")
        auth = {**ELK, "Authorization": f"Bearer {token}"}
        posted = await client.post("/api/v1/statuses", data={"status": "from Elk"}, headers=auth)
        assert posted.status_code == 200
        favourited = await client.post(f"/api/v1/statuses/{posted.json()['id']}/favourite", headers=auth)
        assert favourited.status_code == 200
        timeline = await client.get("/api/v1/timelines/home", headers=auth)
        for response in (posted, favourited, timeline):
            assert response.headers["access-control-allow-origin"] == "*"
            exposed = response.headers["access-control-expose-headers"]
            assert "Link" in exposed and "X-RateLimit-Remaining" in exposed and "X-RateLimit-Reset" in exposed
            assert "access-control-allow-credentials" not in response.headers
        assert "link" in timeline.headers
        errors = [
            await client.get("/api/v1/statuses/999", headers=auth),  # 404
            await client.get("/api/v1/timelines/home", headers=ELK),  # 401
            await client.post("/api/v1/statuses", data={"status": ""}, headers=auth),  # 422
            await client.post("/oauth/token", data={"grant_type": "password"}, headers=ELK),
            await client.post("/oauth/revoke", data={"token": "x"}, headers=ELK),
        ]
        assert [r.status_code for r in errors][:3] == [404, 401, 422]
        for response in errors:
            assert response.status_code >= 400
            assert response.headers["access-control-allow-origin"] == "*"
        for path in (
            "/.well-known/webfinger?resource=acct:alice@kinfolk.test",
            "/.well-known/nodeinfo",
            "/nodeinfo/2.0",
        ):
            response = await client.get(path, headers=ELK)
            assert response.status_code == 200, path
            assert response.headers["access-control-allow-origin"] == "*"


async def test_html_pages_and_forms_get_no_cors(sqlite_template: Path, tmp_path: Path) -> None:
    async with edge_app(sqlite_template, tmp_path) as (_, app), client_for(app) as client:
        responses = [
            await client.get("/", headers=ELK),
            await client.get(
                "/oauth/authorize", params={"client_id": "x", "response_type": "code"}, headers=ELK
            ),
            await client.post("/oauth/authorize", data={"email": "a@b.c", "password": "x"}, headers=ELK),
            await client.options(
                "/oauth/authorize", headers={**ELK, "Access-Control-Request-Method": "POST"}
            ),
            await client.get("/health", headers=ELK),
        ]
        for response in responses:
            assert not any(name.startswith("access-control-") for name in response.headers), response.url
