"""The access and error log as an operator reads it: real log output, parsed line by line."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tests.conftest import TEST_DOMAIN, LocalUser

from kinfolk.api.app import collect_routes, create_app
from kinfolk.api.request_log import RequestLogMiddleware, redact_query
from kinfolk.api.router import IndexedRouter
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.infra.logs import JsonFormatter, TextFormatter


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, object]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def access(self) -> list[dict[str, object]]:
        return [r for r in self.records() if r["logger"] == "kinfolk.access"]


def _capture(formatter: logging.Formatter) -> Iterator[Captured]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("kinfolk")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture
def json_log() -> Iterator[Captured]:
    yield from _capture(JsonFormatter())


@pytest.fixture
def text_log() -> Iterator[Captured]:
    yield from _capture(TextFormatter())


async def test_access_line_names_request_account_status_and_duration(
    client: httpx.AsyncClient, make_user, json_log: Captured
) -> None:
    alice: LocalUser = await make_user("alice")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 16

    (line,) = [r for r in json_log.access() if r["request_id"] == request_id]
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/accounts/verify_credentials"
    assert line["route"] == "/api/v1/accounts/verify_credentials"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["account_id"] == alice.account_id
    assert line["client"] == "127.0.0.1"
    assert "time" in line and line["level"] == "INFO"

    # Anonymous requests have no account; each request has its own id.
    other = await client.get("/api/v1/instance")
    assert other.headers["x-request-id"] != request_id
    (anonymous,) = [r for r in json_log.access() if r["request_id"] == other.headers["x-request-id"]]
    assert "account_id" not in anonymous and anonymous["status"] == 200


async def test_secrets_in_a_request_never_reach_the_log(
    client: httpx.AsyncClient, make_user, json_log: Captured, text_log: Captured
) -> None:
    alice: LocalUser = await make_user("alice", password="hunter2-very-secret-pw")
    app = await client.post(
        "/api/v1/apps", data={"client_name": "log test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
    )
    client_id, client_secret = app.json()["client_id"], app.json()["client_secret"]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": alice.email,
            "password": alice.password,
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": "read",
        },
    )
    assert token.status_code == 200
    issued = token.json()["access_token"]
    # Tokens in the query string (as streaming clients send them) and an OAuth code.
    await client.get(f"/api/v1/timelines/home?access_token={issued}&limit=5")
    await client.get(
        f"/oauth/authorize?response_type=code&client_id={client_id}&code=sekritcode123&password=qs-pass-123"
    )
    await client.get(f"/api/v1/accounts/verify_credentials?user%5Bpassword%5D=bracket-pass-9&token={issued}")
    await client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {issued}"})

    for output in (json_log.text, text_log.text):
        assert output.count("kinfolk.access") >= 6
        for secret in (
            alice.password,
            client_secret,
            issued,
            alice.token,
            "sekritcode123",
            "qs-pass-123",
            "bracket-pass-9",
        ):
            assert secret not in output
    queries = [r.get("query") for r in json_log.access()]
    assert "access_token=[redacted]&limit=5" in queries
    assert json_log.access()[-1]["account_id"] == alice.account_id


def test_redact_query_keeps_what_is_harmless() -> None:
    assert redact_query("max_id=5&limit=20") == "max_id=5&limit=20"
    assert redact_query("code=abc&state=x") == "code=[redacted]&state=x"
    assert (
        redact_query("refresh_token=a&client_secret=b") == "refresh_token=[redacted]&client_secret=[redacted]"
    )
    assert redact_query("user[password]=x&user%5Bpassword%5D=y") == (
        "user[password]=[redacted]&user%5Bpassword%5D=[redacted]"
    )


async def test_incoming_request_id_only_from_a_trusted_proxy(
    client: httpx.AsyncClient, settings: Settings, json_log: Captured
) -> None:
    # The default client (127.0.0.1) is no trusted proxy here: its id is replaced.
    response = await client.get("/api/v1/instance", headers={"X-Request-Id": "from-the-client"})
    assert response.headers["x-request-id"] != "from-the-client"

    trusting = Container.build(
        Settings(**{**settings.model_dump(), "trusted_proxies": "127.0.0.1/32"}), pool_size=2
    )
    try:
        transport = httpx.ASGITransport(app=create_app(trusting), client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as proxied:
            kept = await proxied.get(
                "/api/v1/instance", headers={"X-Request-Id": "edge-42.abc", "X-Forwarded-For": "203.0.113.9"}
            )
            junk = await proxied.get("/api/v1/instance", headers={"X-Request-Id": "bad id\twith spaces"})
    finally:
        await trusting.close()
    assert kept.headers["x-request-id"] == "edge-42.abc"
    assert junk.headers["x-request-id"] != "bad id\twith spaces"
    line = next(r for r in json_log.access() if r["request_id"] == "edge-42.abc")
    assert line["client"] == "203.0.113.9"


async def test_an_error_is_logged_with_its_request_id_and_traceback(
    container: Container, json_log: Captured, text_log: Captured
) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("the disk is on fire")

    app = create_app(container)
    app.router = IndexedRouter([*collect_routes(), Route("/test/boom", boom)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as client:
        response = await client.get("/test/boom?password=not-this-one")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error"}
    request_id = response.headers["x-request-id"]

    (error,) = [r for r in json_log.records() if r["logger"] == "kinfolk.error"]
    assert error["request_id"] == request_id and error["level"] == "ERROR"
    assert "RuntimeError: the disk is on fire" in str(error["exc_info"])
    assert 'raise RuntimeError("the disk is on fire")' in str(error["exc_info"])
    (access,) = [r for r in json_log.access() if r["request_id"] == request_id]
    assert access["status"] == 500 and access["route"] == "/test/boom"
    # The text format: one line per record, then the traceback.
    assert f"kinfolk.error: unhandled error on GET /test/boom request_id={request_id}" in text_log.text
    assert f"kinfolk.access: GET /test/boom 500 request_id={request_id}" in text_log.text
    assert "not-this-one" not in json_log.text + text_log.text


def test_the_middleware_costs_microseconds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Micro-benchmark: the same trivial endpoint with and without the middleware, the access log
    written in the JSON format to a file. The overhead is reported; the bound is loose so that a
    busy CI machine does not fail it, the figure measured is in the report."""
    endpoint = PlainTextResponse("ok")

    async def bare(scope, receive, send):  # type: ignore[no-untyped-def]
        await endpoint(scope, receive, send)

    logged = RequestLogMiddleware(bare)
    scope_base = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/timelines/home",
        "query_string": b"limit=20",
        "headers": [(b"host", b"kinfolk.test"), (b"authorization", b"Bearer x")],
        "client": ("127.0.0.1", 5000),
    }

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):  # type: ignore[no-untyped-def]
        return None

    async def run(app, n: int) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        for _ in range(n):
            await app(dict(scope_base), receive, send)
        return time.perf_counter() - started

    handler = logging.FileHandler(tmp_path / "access.log")
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("kinfolk.access")
    logger.addHandler(handler)
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        n = 5000

        async def measure() -> tuple[float, float]:
            await run(bare, 500)
            await run(logged, 500)
            best_bare = min([await run(bare, n) for _ in range(3)])
            best_logged = min([await run(logged, n) for _ in range(3)])
            return best_bare, best_logged

        best_bare, best_logged = asyncio.run(measure())
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    overhead_us = (best_logged - best_bare) / n * 1e6
    print(
        f"request log middleware: {overhead_us:.1f} µs per request (bare endpoint {best_bare / n * 1e6:.1f} µs)"
    )
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert len(lines) == 500 + 3 * n and '"status":200' in lines[-1]
    assert overhead_us < 60, overhead_us


async def test_a_fault_raised_outside_the_routes_still_answers_as_a_fault(json_log: Captured) -> None:
    """A full disk or a lost database met by a middleware (above the routes' own handlers) is
    answered 507/503 by the outermost layer, not 500."""
    import errno

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    app = RequestLogMiddleware(inner)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as client:
        response = await client.get("/api/v1/timelines/home")
    assert response.status_code == 507
    assert response.json() == {"error": "Insufficient storage"}
    (access,) = [r for r in json_log.access() if r["request_id"] == response.headers["x-request-id"]]
    assert access["status"] == 507
