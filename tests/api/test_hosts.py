"""The Host header: only the configured names are answered, and no generated URL comes from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.api.edge_app import client_for, edge_app, user_with_token

from kinfolk.domain.accounts import service as accounts_service

EVIL = {"Host": "evil.example"}


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


def _mentions(response: object, name: str) -> bool:
    headers = getattr(response, "headers")  # noqa: B009
    return any(name in value for value in headers.values()) or name in getattr(response, "text")  # noqa: B009


async def test_unknown_hosts_are_refused_except_on_health(sqlite_template: Path, tmp_path: Path) -> None:
    async with edge_app(sqlite_template, tmp_path) as (_, app), client_for(app) as client:
        for method, path in [
            ("GET", "/api/v1/instance"),
            ("GET", "/api/v1/timelines/public/"),  # would be a trailing-slash redirect
            ("GET", "/"),
            ("GET", "/oauth/authorize"),
            ("POST", "/api/v1/apps"),
            ("OPTIONS", "/api/v1/statuses"),
        ]:
            response = await client.request(method, path, headers=EVIL)
            assert response.status_code == 421, path
            assert response.json() == {"error": "This server does not answer to that host name"}
            assert not _mentions(response, "evil.example")
        # Load balancers probe by address.
        health = await client.get("/health", headers={"Host": "10.1.2.3:3000"})
        assert health.status_code == 200 and health.text == "OK"
        # The configured name on any port, in any case.
        assert (await client.get("/api/v1/instance", headers={"Host": "KINFOLK.test:443"})).status_code == 200
        # Loopback names are not the domain's here.
        assert (await client.get("/api/v1/instance", headers={"Host": "localhost"})).status_code == 421


async def test_redirects_and_links_use_the_configured_origin(sqlite_template: Path, tmp_path: Path) -> None:
    async with (
        edge_app(sqlite_template, tmp_path, alternate_domains="alt.example, other.example") as (
            container,
            app,
        ),
        client_for(app) as client,
    ):
        _, token = await user_with_token(container, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(2):
            await client.post("/api/v1/statuses", data={"status": "hello"}, headers=auth)
        alt = {"Host": "alt.example"}
        redirect = await client.get("/api/v1/timelines/public/?limit=1", headers=alt)
        assert redirect.status_code == 307
        assert redirect.headers["location"] == "https://kinfolk.test/api/v1/timelines/public?limit=1"
        for path in ("/api/v1/timelines/public?limit=1", "/api/v1/timelines/home?limit=1"):
            page = await client.get(path, headers={**alt, **auth})
            assert page.status_code == 200
            assert "<https://kinfolk.test/api/v1/timelines/" in page.headers["link"]
            assert not _mentions(page, "alt.example")
        assert (await client.get("/api/v1/instance", headers={"Host": "other.example"})).status_code == 200


async def test_a_trusted_proxy_names_the_host(sqlite_template: Path, tmp_path: Path) -> None:
    async with edge_app(sqlite_template, tmp_path, trusted_proxies="10.0.0.0/8") as (_, app):
        async with client_for(app, peer="10.0.0.2", base_url="http://10.0.0.5:3000") as proxied:
            forwarded = await proxied.get("/api/v1/instance", headers={"X-Forwarded-Host": "kinfolk.test"})
            assert forwarded.status_code == 200
            evil = await proxied.get("/api/v1/instance", headers={"X-Forwarded-Host": "evil.example"})
            assert evil.status_code == 421
        # From anyone else X-Forwarded-Host means nothing.
        async with client_for(app, peer="203.0.113.7") as direct:
            ignored = await direct.get(
                "/api/v1/instance", headers={**EVIL, "X-Forwarded-Host": "kinfolk.test"}
            )
            assert ignored.status_code == 421


async def test_a_loopback_domain_accepts_every_loopback_name(sqlite_template: Path, tmp_path: Path) -> None:
    """`make run`, compat (localhost:3000) and the benchmark (127.0.0.1:port) serve on loopback."""
    async with (
        edge_app(sqlite_template, tmp_path, domain="localhost:8000", protocol="http") as (_, app),
        client_for(app, base_url="http://127.0.0.1:8000") as client,
    ):
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost"):
            assert (await client.get("/api/v1/instance", headers={"Host": host})).status_code == 200, host
        assert (await client.get("/api/v1/instance", headers=EVIL)).status_code == 421
        redirect = await client.get("/api/v1/timelines/public/", headers={"Host": "127.0.0.1:8000"})
        assert redirect.headers["location"] == "http://localhost:8000/api/v1/timelines/public"


async def test_websockets_naming_an_unknown_host_are_closed_before_accepting(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with edge_app(sqlite_template, tmp_path) as (_, app):
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "websocket",
            "path": "/api/v1/streaming",
            "raw_path": b"/api/v1/streaming",
            "query_string": b"stream=public",
            "headers": [(b"host", b"evil.example")],
            "client": ("203.0.113.7", 40000),
            "server": ("kinfolk.test", 443),
            "scheme": "wss",
            "root_path": "",
            "subprotocols": [],
        }
        await app(scope, receive, send)  # type: ignore[arg-type]
        assert sent == [{"type": "websocket.close", "code": 1008}]
