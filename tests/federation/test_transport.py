"""Outbound federation HTTP against real aiohttp servers on 127.0.0.1.

The servers are reached by names from `KINFOLK_HOSTS` (alpha.test, beta.test -> 127.0.0.1), so
the same process plays two origins; loopback is allowed as a multi-server harness allows it.
"""

from __future__ import annotations

import asyncio
import gzip
import resource
import socket
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import orjson
import pydantic
import pytest
from aiohttp import web

from kinfolk.config import Settings
from kinfolk.federation.transport import Transport, _HostGates, version
from kinfolk.infra.fetch import (
    JRD_TYPES,
    RETRY_AFTER_CAP_SECONDS,
    FetchError,
    fetch_json,
    origin,
    parse_retry_after,
)
from kinfolk.infra.outbound import guarded_session

AP = "application/activity+json"
HOSTS = "alpha.test=127.0.0.1,beta.test=127.0.0.1,private.test=10.0.0.5"


def harness_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_key": "k",
        "domain": "kinfolk.test",
        "hosts": HOSTS,
        "allowed_private_addresses": "127.0.0.1/32",
    }
    values.update(overrides)
    return Settings(**values)


def test_signer(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
    """Stands for the HTTP-signature signer: names what it signed, so the server can check."""
    return {"X-Test-Signed": f"{method} {url} {len(body or b'')} {headers['User-Agent']}"}


test_signer.__test__ = False  # type: ignore[attr-defined]


class Remote:
    """One aiohttp server answering as whichever host name it was reached by; routes may be added
    while it runs (their URLs need its port)."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        self.handlers: dict[tuple[str, str], Any] = {}
        self.requests: list[web.Request] = []
        self.port = 0

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self.handlers.get((request.method, request.path))
        if handler is None:
            raise web.HTTPNotFound()
        self.requests.append(request)
        response: web.StreamResponse = await handler(request)
        return response

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, method: str, path: str, handler: Any) -> None:
        self.handlers[(method, path)] = handler

    def json(self, path: str, document: Any, *, content_type: str = AP, status: int = 200) -> None:
        body = orjson.dumps(document)

        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, status=status, headers={"Content-Type": content_type})

        self.route("GET", path, handler)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": location})

        self.route("GET", path, handler)


@asynccontextmanager
async def running(remote: Remote) -> AsyncIterator[Remote]:
    runner = web.AppRunner(remote.app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    remote.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield remote
    finally:
        await runner.cleanup()


@pytest.fixture
async def transports() -> AsyncIterator[list[Transport]]:
    made: list[Transport] = []
    yield made
    for transport in made:
        await transport.close()


def make(transports: list[Transport], settings: Settings | None = None, **options: Any) -> Transport:
    transport = Transport(settings or harness_settings(), **options)
    transports.append(transport)
    return transport


# Resolution and the private-address rule


def test_hosts_setting_parses_pairs_and_refuses_typos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINFOLK_HOSTS", "Alpha.Test.=127.0.0.1, beta.test=::1,beta.test=127.0.0.2")
    assert Settings(secret_key="k").host_overrides == {
        "alpha.test": ("127.0.0.1",),
        "beta.test": ("::1", "127.0.0.2"),
    }
    with pytest.raises(pydantic.ValidationError):
        Settings(secret_key="k", hosts="alpha.test")
    with pytest.raises(pydantic.ValidationError):
        Settings(secret_key="k", hosts="alpha.test=not-an-address")


async def test_a_hosts_name_resolves_to_its_address(transports: list[Transport]) -> None:
    remote = Remote()

    async def actor(request: web.Request) -> web.Response:
        return web.json_response({"id": str(request.url)}, content_type=AP)

    remote.route("GET", "/users/a", actor)
    async with running(remote):
        url = remote.url("alpha.test", "/users/a")
        document = await make(transports).get_json(url)
        assert document.json == {"id": url} and document.final_url == url and document.status == 200
        assert remote.requests[0].host == f"alpha.test:{remote.port}"


async def test_loopback_is_refused_without_the_allowance_and_nothing_connects(
    transports: list[Transport],
) -> None:
    remote = Remote()
    remote.json("/users/a", {"id": "x"})
    async with running(remote):
        transport = make(transports, harness_settings(allowed_private_addresses=""))
        for host in ("alpha.test", "127.0.0.1", "localhost"):
            with pytest.raises(FetchError) as info:
                await transport.get_json(remote.url(host, "/users/a"))
            assert info.value.permanent and "refused destination" in info.value.reason
        result = await transport.post_activity(remote.url("alpha.test", "/inbox"), b"{}", test_signer)
        assert result.permanent_failure and result.status is None
        assert remote.requests == []


async def test_a_redirect_towards_a_private_address_is_refused(transports: list[Transport]) -> None:
    remote = Remote()
    remote.redirect("/to-ten", "http://private.test/secret")
    remote.redirect("/to-literal", "http://169.254.169.254/latest/meta-data")
    remote.redirect("/to-file", "file:///etc/passwd")
    async with running(remote):
        transport = make(transports)
        for path in ("/to-ten", "/to-literal", "/to-file"):
            with pytest.raises(FetchError) as info:
                await transport.get_json(remote.url("alpha.test", path))
            assert info.value.permanent and "refused destination" in info.value.reason


# Redirects and origins


async def test_three_redirects_are_followed_and_each_hop_is_signed(transports: list[Transport]) -> None:
    remote = Remote()
    async with running(remote):
        for n in range(1, 5):
            remote.redirect(f"/r/{n}", remote.url("alpha.test", f"/r/{n - 1}"))
        final = remote.url("alpha.test", "/r/0")
        remote.json("/r/0", {"id": final, "type": "Note"})
        transport = make(transports)
        document = await transport.get_json(remote.url("alpha.test", "/r/3"), test_signer)
        assert document.final_url == final
        assert document.json["type"] == "Note"
        assert [r.headers["X-Test-Signed"].split()[1] for r in remote.requests] == [
            remote.url("alpha.test", f"/r/{n}") for n in (3, 2, 1, 0)
        ]

        remote.requests.clear()
        with pytest.raises(FetchError, match="more than 3 redirects") as info:
            await transport.get_json(remote.url("alpha.test", "/r/4"), test_signer)
        assert info.value.permanent
        assert len(remote.requests) == 4  # the fourth redirect is not followed


async def test_a_redirect_loop_fails_cleanly(transports: list[Transport]) -> None:
    remote = Remote()
    async with running(remote):
        remote.redirect("/loop/a", remote.url("alpha.test", "/loop/b"))
        remote.redirect("/loop/b", "/loop/a")  # relative
        remote.redirect("/self", "/self", status=308)
        transport = make(transports)
        for path in ("/loop/a", "/self"):
            started = time.monotonic()
            with pytest.raises(FetchError, match="redirect loop") as info:
                await transport.get_json(remote.url("alpha.test", path))
            assert info.value.permanent
            assert time.monotonic() - started < 2


async def test_a_redirect_to_another_origin_serving_the_original_id_is_refused(
    transports: list[Transport],
) -> None:
    """Checklist 37: victim/x redirects to attacker/y, which claims to be victim/x."""
    remote = Remote()
    async with running(remote):
        victim = remote.url("alpha.test", "/x")
        remote.redirect("/x", remote.url("beta.test", "/y"))
        remote.json("/y", {"id": victim, "type": "Note", "content": "forged"})
        transport = make(transports)
        with pytest.raises(FetchError, match="origin") as info:
            await transport.get_json(victim, expected_id=victim)
        assert info.value.permanent
        # Without an expected id the document's own id still has to match where it came from.
        with pytest.raises(FetchError, match="origin"):
            await transport.get_json(victim)


async def test_an_id_on_another_origin_is_refused_and_a_same_origin_redirect_is_fine(
    transports: list[Transport],
) -> None:
    remote = Remote()
    async with running(remote):
        actor = remote.url("alpha.test", "/users/ann")
        remote.redirect("/@ann", "/users/ann", status=301)
        remote.json("/users/ann", {"id": actor, "type": "Person"})
        remote.json("/claims-beta", {"id": remote.url("beta.test", "/users/ann"), "type": "Person"})
        transport = make(transports)
        document = await transport.get_json(remote.url("alpha.test", "/@ann"), expected_id=actor)
        assert document.final_url == actor and document.json["type"] == "Person"
        with pytest.raises(FetchError, match="origin"):
            await transport.get_json(remote.url("alpha.test", "/claims-beta"))


def test_origins_are_normalised() -> None:
    assert origin("HTTPS://Example.COM.:443/a") == "https://example.com"
    assert origin("https://victim.example@attacker.example/") == "https://attacker.example"
    assert origin("https://ex\u0430mple.com/") == "https://xn--exmple-4nf.com"  # Cyrillic a
    assert origin("http://alpha.test:8080/x") == "http://alpha.test:8080"
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "data:,x", "https:///nohost"):
        with pytest.raises(ValueError):
            origin(bad)


# Content types and sizes


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "image/png", ""])
async def test_a_document_with_another_content_type_is_refused(
    transports: list[Transport], content_type: str
) -> None:
    remote = Remote()
    async with running(remote):
        url = remote.url("alpha.test", "/note")
        remote.json("/note", {"id": url, "type": "Note"}, content_type=content_type)
        with pytest.raises(FetchError, match="content type") as info:
            await make(transports).get_json(url)
        assert info.value.permanent


async def test_activity_types_are_accepted_and_json_only_when_asked(transports: list[Transport]) -> None:
    remote = Remote()
    async with running(remote):
        ld = remote.url("alpha.test", "/ld")
        remote.json("/ld", {"id": ld}, content_type='application/ld+json; profile="https://example.com/x"')
        remote.json("/ap", {"id": remote.url("alpha.test", "/ap")}, content_type=f"{AP}; charset=utf-8")
        remote.json("/wf", {"subject": "acct:ann@alpha.test"}, content_type="application/jrd+json")
        remote.json("/ni", {"version": "2.0"}, content_type="application/json")
        transport = make(transports)
        assert (await transport.get_json(ld)).json == {"id": ld}
        await transport.get_json(remote.url("alpha.test", "/ap"))
        for path in ("/wf", "/ni"):
            with pytest.raises(FetchError):
                await transport.get_json(remote.url("alpha.test", path))
            document = await transport.get_json(
                remote.url("alpha.test", path), accept="application/jrd+json", content_types=JRD_TYPES
            )
            assert document.json
        assert remote.requests[-1].headers["Accept"] == "application/jrd+json"


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_2_mb_body_is_aborted(transports: list[Transport], streamed: bool) -> None:
    remote = Remote()
    padding = b"x" * (2 * 1024 * 1024)

    async def big(request: web.Request) -> web.StreamResponse:
        body = b'{"id": "' + str(request.url).encode() + b'", "pad": "' + padding + b'"}'
        if not streamed:
            return web.Response(body=body, headers={"Content-Type": AP})
        response = web.StreamResponse(headers={"Content-Type": AP})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 256 * 1024):
            await response.write(body[start : start + 256 * 1024])
        await response.write_eof()
        return response

    remote.route("GET", "/big", big)
    async with running(remote):
        with pytest.raises(FetchError, match="larger than") as info:
            await make(transports).get_json(remote.url("alpha.test", "/big"))
        assert info.value.permanent


def gzip_of_spaces(size: int) -> bytes:
    """A gzip stream of `size` spaces, made without holding them (50 MB -> about 50 KB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


async def test_a_gzip_bomb_is_aborted_after_the_cap_decompressed(transports: list[Transport]) -> None:
    bomb = gzip_of_spaces(50 * 1024 * 1024)
    assert len(bomb) < 100 * 1024
    remote = Remote()

    async def serve(body: bytes) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": AP, "Content-Encoding": "gzip"})

    async def bomb_handler(request: web.Request) -> web.Response:
        return await serve(bomb)

    async def small_handler(request: web.Request) -> web.Response:
        return await serve(gzip.compress(orjson.dumps({"id": str(request.url)})))

    remote.route("GET", "/bomb", bomb_handler)
    remote.route("GET", "/small", small_handler)
    async with running(remote):
        transport = make(transports)
        # Compression itself is fine: a small gzip body is read decompressed.
        assert (await transport.get_json(remote.url("alpha.test", "/small"))).json["id"].endswith("/small")
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        with pytest.raises(FetchError, match="larger than"):
            await transport.get_json(remote.url("alpha.test", "/bomb"))
        assert time.monotonic() - started < 3
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
        assert grown_kib < 40 * 1024  # far below the 50 MB the bomb inflates to


# Deadlines and per-host caps


async def test_a_slow_drip_is_aborted_at_the_deadline(transports: list[Transport]) -> None:
    """Checklist 40: a byte at a time, each well within the read timeout, never the whole."""
    remote = Remote()

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": AP})
        await response.prepare(request)
        try:
            while True:
                await response.write(b" ")
                await asyncio.sleep(0.4)
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    remote.route("GET", "/drip", drip)
    async with running(remote):
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out") as info:
            await make(transports, deadline=2.0).get_json(remote.url("alpha.test", "/drip"))
        elapsed = time.monotonic() - started
        assert 1.8 < elapsed < 3.5
        assert not info.value.permanent

        # fetch_json on its own takes the same deadline.
        async with guarded_session(harness_settings(), timeout=aiohttp.ClientTimeout(total=None)) as session:
            started = time.monotonic()
            with pytest.raises(FetchError, match="timed out"):
                await fetch_json(
                    session,
                    remote.url("alpha.test", "/drip"),
                    allowed=harness_settings().allowed_private_networks,
                    deadline=1.0,
                )
            assert time.monotonic() - started < 2.5


async def test_a_hanging_host_does_not_stall_another(transports: list[Transport]) -> None:
    remote = Remote()
    release = asyncio.Event()
    hanging = 0

    async def hang(request: web.Request) -> web.StreamResponse:
        nonlocal hanging
        hanging += 1
        await release.wait()
        return web.Response(status=202)

    async def quick(request: web.Request) -> web.Response:
        return web.Response(status=202)

    remote.route("POST", "/hang", hang)
    remote.route("POST", "/quick", quick)
    async with running(remote):
        # A pool of 3 connections: without the per-host cap, the slow host would hold all three.
        transport = make(transports, per_host=2, pool_size=3, deadline=5.0)
        slow = [
            asyncio.create_task(
                transport.post_activity(remote.url("alpha.test", "/hang"), b"{}", test_signer)
            )
            for _ in range(3)
        ]
        await asyncio.sleep(0.3)
        assert hanging == 2  # the third waits for a slot of its host, holding no connection
        started = time.monotonic()
        result = await transport.post_activity(remote.url("beta.test", "/quick"), b"{}", test_signer)
        assert result.ok and time.monotonic() - started < 1
        release.set()
        assert all(r.ok for r in await asyncio.gather(*slow))
        assert hanging == 3
        assert len(transport._gates) == 0  # idle hosts leave nothing behind


async def test_waiting_for_a_hosts_slot_is_bounded() -> None:
    gates = _HostGates(per_host=1)
    async with gates.hold("alpha.test:", wait=5):
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with gates.hold("alpha.test:", wait=0.2):
                pass
        assert time.monotonic() - started < 1
        async with gates.hold("beta.test:", wait=0.2):  # another host is not affected
            pass
    assert len(gates) == 0


# Delivery results


def test_retry_after_is_read_as_seconds_or_a_date_and_capped() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2), usegmt=True), now=now) == 120
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now=now) == 0
    assert parse_retry_after("99999999999999999999") == RETRY_AFTER_CAP_SECONDS
    assert parse_retry_after(format_datetime(now + timedelta(days=400), usegmt=True), now=now) == (
        RETRY_AFTER_CAP_SECONDS
    )
    for unreadable in (None, "", "soon", "-5", "1.5e3"):
        assert parse_retry_after(unreadable) is None


async def test_delivery_results_say_what_to_retry(transports: list[Transport]) -> None:
    remote = Remote()
    answers = {
        "/ok": (202, {}),
        "/gone": (410, {}),
        "/missing": (404, {}),
        "/unavailable": (503, {"Retry-After": "30"}),
        "/slow-down": (429, {"Retry-After": "120"}),
        "/timeout": (408, {}),
        "/error": (500, {}),
        "/moved": (301, {"Location": "/ok"}),
    }

    async def inbox(request: web.Request) -> web.Response:
        status, headers = answers[request.path]
        return web.Response(status=status, headers=headers)

    for path in answers:
        remote.route("POST", path, inbox)
    async with running(remote):
        transport = make(transports)
        results = {
            path: await transport.post_activity(
                remote.url("alpha.test", path), b'{"type":"Like"}', test_signer
            )
            for path in answers
        }
    assert results["/ok"].ok and not results["/ok"].permanent_failure
    for path in ("/gone", "/missing"):
        assert results[path].permanent_failure and not results[path].ok
    assert results["/unavailable"].retry_after == 30 and not results["/unavailable"].permanent_failure
    assert results["/slow-down"].retry_after == 120 and not results["/slow-down"].permanent_failure
    assert results["/slow-down"].status == 429
    for path in ("/timeout", "/error", "/moved"):
        assert not results[path].ok and not results[path].permanent_failure
    assert [r.path for r in remote.requests].count("/ok") == 1  # the redirect was not followed


async def test_a_fetch_of_a_gone_object_is_permanent_and_a_503_is_not(transports: list[Transport]) -> None:
    remote = Remote()
    remote.json("/gone", {"error": "gone"}, status=410)
    remote.json("/busy", {"error": "busy"}, status=503)
    async with running(remote):
        transport = make(transports)
        with pytest.raises(FetchError) as gone:
            await transport.get_json(remote.url("alpha.test", "/gone"))
        assert gone.value.permanent and gone.value.status == 410
        with pytest.raises(FetchError) as busy:
            await transport.get_json(remote.url("alpha.test", "/busy"))
        assert not busy.value.permanent and busy.value.status == 503


async def test_an_unreachable_inbox_is_retryable(transports: list[Transport]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await make(transports).post_activity(f"http://alpha.test:{port}/inbox", b"{}", test_signer)
    assert result.status is None and not result.permanent_failure and result.reason


async def test_requests_name_kinfolk_and_carry_the_signers_headers(transports: list[Transport]) -> None:
    remote = Remote()
    received: list[tuple[str, str, bytes]] = []

    async def inbox(request: web.Request) -> web.Response:
        received.append(
            (request.headers["User-Agent"], request.headers["Content-Type"], await request.read())
        )
        return web.Response(status=202)

    remote.route("POST", "/inbox", inbox)
    async with running(remote):
        actor = remote.url("alpha.test", "/users/ann")
        remote.json("/users/ann", {"id": actor})
        transport = make(transports)
        body = b'{"type":"Follow"}'
        result = await transport.post_activity(remote.url("alpha.test", "/inbox"), body, test_signer)
        await transport.get_json(actor, test_signer)
        await transport.get_json(actor)  # unsigned: no signature header at all
    agent = f"Kinfolk/{version()} (+https://kinfolk.test/)"
    assert result.ok
    assert received == [
        (agent, 'application/activity+json; profile="https://www.w3.org/ns/activitystreams"', body)
    ]
    post, signed_get, unsigned_get = remote.requests
    assert post.headers["X-Test-Signed"] == f"POST {remote.url('alpha.test', '/inbox')} {len(body)} {agent}"
    assert signed_get.headers["X-Test-Signed"] == f"GET {actor} 0 {agent}"
    assert signed_get.headers["User-Agent"] == agent
    assert signed_get.headers["Accept"].startswith("application/activity+json")
    assert "X-Test-Signed" not in unsigned_get.headers
    # One pool for the process: the same session served all three.
    assert transport.session is transport.session
