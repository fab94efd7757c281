"""Streaming end to end: a real uvicorn server with its job worker, clients over WebSocket and
server-sent events, with the in-process pub/sub and with Redis.

Two local users follow, post with a hashtag and a mention, reply, boost, favourite, edit and
delete: each event reaches the right streams within a second; a muted or blocked user's posts
never do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kinfolk.api.app import create_app
from kinfolk.api.streaming import session as stream_session
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.filters.models import Filter, FilterKeyword
from kinfolk.domain.timelines import streams
from kinfolk.jobs.worker import Worker

REDIS_URL = os.environ.get("KINFOLK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The time from the HTTP response to the event on the stream. The goal is a second; the test
# allows two, because CI shares its two cores with other work and a loaded run measured 1.03 s
# (idle runs take a fraction of that).
PROMPT = 2.0


@dataclass
class Live:
    url: str
    container: Container
    loop: asyncio.AbstractEventLoop

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/streaming"

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)


def _redis_or_skip() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as exc:
        if os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    finally:
        client.close()


def _redis_cleanup(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def live(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Live]:
    """The all-in-one process: uvicorn and the job worker on one loop, in a thread."""
    redis_url, prefix = "", "kinfolk:"
    if request.param == "redis":
        _redis_or_skip()
        redis_url, prefix = REDIS_URL, f"kinfolk-test-{secrets.token_hex(4)}:"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        domain=f"127.0.0.1:{port}",
        protocol="http",
        data_dir=tmp_path / "live",
        database_url=db_url,
        secret_key="live-server-secret",
        redis_url=redis_url,
        redis_prefix=prefix,
    )
    container = Container.build(settings, pool_size=5)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []
    stopping: list[asyncio.Event] = []

    async def main() -> None:
        stop = asyncio.Event()
        stopping.append(stop)
        worker = Worker(container, concurrency=2, listen=False, poll_interval=0.5, shutdown_grace=5)
        worker_task = asyncio.create_task(worker.run(stop))
        try:
            await server.serve()
        finally:
            stop.set()
            await worker_task
            await container.close()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=serve, name="kinfolk-streaming-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and not failure and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(5)
        raise RuntimeError(f"live server did not start: {failure!r}")
    try:
        yield Live(url=settings.base_url, container=container, loop=loop)
    finally:
        server.should_exit = True
        thread.join(20)
        loop.close()
        if request.param == "redis":
            _redis_cleanup(prefix)


@pytest.fixture
async def api(live: Live) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
        yield client


# --- stream clients -----------------------------------------------------------------------


@dataclass
class Event:
    stream: list[str] | None
    event: str
    payload: Any

    @property
    def status_id(self) -> str | None:
        if isinstance(self.payload, dict):
            return str(self.payload.get("id"))
        return None


def _decode(event: str, raw: str | None) -> Any:
    if raw is None or raw == "undefined":
        return None
    if event == "delete":
        return raw
    return orjson.loads(raw)


@dataclass
class SSEStream:
    """An SSE connection read in a background task; `next()` gives the next event."""

    client: httpx.AsyncClient
    path: str
    token: str
    params: dict[str, str] = field(default_factory=dict)
    events: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.client.stream(
            "GET", self.path, params=self.params, headers=headers, timeout=None
        ) as r:
            self.status = r.status_code
            if r.status_code != 200:
                self._ready.set()
                await r.aread()
                return
            fields: dict[str, str] = {}
            async for line in r.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line)
                    self._ready.set()
                elif line == "":
                    if fields:
                        await self.events.put(
                            Event(None, fields["event"], _decode(fields["event"], fields.get("data")))
                        )
                    fields = {}
                else:
                    key, _, value = line.partition(": ")
                    fields[key] = value

    async def __aenter__(self) -> SSEStream:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def next(self, timeout: float = PROMPT) -> Event:
        return await asyncio.wait_for(self.events.get(), timeout)


async def ws_next(ws: ClientConnection, timeout: float = PROMPT) -> Event:
    data = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    if "error" in data:
        return Event(None, "error", data)
    return Event(data["stream"], data["event"], _decode(data["event"], data.get("payload")))


async def ws_subscribe(ws: ClientConnection, **message: str) -> None:
    """Subscribe, then wait until the server has handled it: a subscription it must refuse
    (a hashtag without a tag) is answered in order, after ours."""
    await ws.send(orjson.dumps({"type": "subscribe", **message}).decode())
    await ws.send(orjson.dumps({"type": "subscribe", "stream": "hashtag"}).decode())
    barrier = await ws_next(ws, 5)
    assert barrier.event == "error" and barrier.payload["status"] == 400, barrier


async def drain(ws: ClientConnection, seconds: float = 0.5) -> list[Event]:
    seen = []
    with contextlib.suppress(TimeoutError):
        while True:
            seen.append(await ws_next(ws, seconds))
    return seen


async def drain_until(
    ws: ClientConnection, done: Callable[[list[Event]], bool], timeout: float = 10 * PROMPT
) -> list[Event]:
    """Every event until `done(seen)` holds (or `timeout` passes): waits for what must come
    however slow the machine, where a quiet gap would end `drain` early."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    with contextlib.suppress(TimeoutError):
        while not done(seen):
            seen.append(await ws_next(ws, max(0.0, deadline - time.monotonic())))
    return seen


# --- helpers --------------------------------------------------------------------------------


async def post(api: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def expect(ws: ClientConnection, event: str, *, status_id: str | None = None, started: float) -> Event:
    got = await ws_next(ws, PROMPT + 1)
    assert time.monotonic() - started < PROMPT, f"{event} took {time.monotonic() - started:.2f}s"
    assert got.event == event, got
    if status_id is not None:
        if event == "delete":
            assert got.payload == status_id, got
        elif event == "notification":
            assert got.payload["status"]["id"] == status_id, got
        else:
            assert got.status_id == status_id, got
    return got


async def settle(container: Container, timeout: float = 10) -> None:
    """Wait until the server's worker has run every due job (a follow's feed merge, say)."""
    from sqlalchemy import func, select

    from kinfolk.jobs.models import QUEUED, RUNNING, Job
    from kinfolk.kernel.clock import utcnow

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with container.db.uow(write=False) as uow:
            busy = (
                await uow.session.execute(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.state.in_([QUEUED, RUNNING]), Job.run_at <= utcnow())
                )
            ).scalar_one()
        if not busy:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("jobs did not settle")


def ws_headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


# --- the scenario ---------------------------------------------------------------------------


async def test_two_users_see_everything_in_the_right_streams(
    live: Live, api: httpx.AsyncClient, make_user, container: Container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")  # muted by alice
    dave = await make_user("dave")  # blocked by alice
    for target in (bob, carol, dave):
        assert (
            await api.post(f"/api/v1/accounts/{target.account_id}/follow", headers=alice.headers)
        ).status_code == 200
    assert (
        await api.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    ).status_code == 200
    assert (
        await api.post(f"/api/v1/accounts/{carol.account_id}/mute", headers=alice.headers)
    ).status_code == 200
    assert (
        await api.post(f"/api/v1/accounts/{dave.account_id}/block", headers=alice.headers)
    ).status_code == 200
    await settle(container)

    async with (
        connect(f"{live.ws_url}?stream=user", additional_headers=ws_headers(alice)) as home,
        connect(f"{live.ws_url}?stream=public:local", additional_headers=ws_headers(alice)) as local,
        connect(f"{live.ws_url}?stream=hashtag&tag=Kinfolk", additional_headers=ws_headers(alice)) as tag,
        connect(f"{live.ws_url}?stream=user", additional_headers=ws_headers(bob)) as bobs,
    ):
        # bob posts with a hashtag and a mention: alice's home, public, hashtag, and a mention.
        started = time.monotonic()
        hello = await post(api, bob, "hello @alice #kinfolk")
        got = await expect(home, "update", status_id=hello["id"], started=started)
        assert got.stream == ["user"] and got.payload["favourited"] is False
        await expect(home, "notification", status_id=hello["id"], started=started)
        assert (await expect(local, "update", status_id=hello["id"], started=started)).stream == [
            "public:local"
        ]
        assert (await expect(tag, "update", status_id=hello["id"], started=started)).stream == [
            "hashtag",
            "Kinfolk",
        ]
        await expect(bobs, "update", status_id=hello["id"], started=started)

        # alice replies: bob follows her, so his home has it; it is a reply to someone else,
        # so the public stream does not.
        started = time.monotonic()
        reply = await post(api, alice, "@bob hi back", in_reply_to_id=hello["id"])
        await expect(bobs, "update", status_id=reply["id"], started=started)
        await expect(bobs, "notification", status_id=reply["id"], started=started)
        await expect(home, "update", status_id=reply["id"], started=started)

        # bob boosts alice's reply and favourites it: notifications for alice.
        started = time.monotonic()
        boosted = await api.post(f"/api/v1/statuses/{reply['id']}/reblog", headers=bob.headers)
        assert boosted.status_code == 200
        got = await expect(home, "notification", status_id=reply["id"], started=started)
        assert got.payload["type"] == "reblog"
        started = time.monotonic()
        assert (
            await api.post(f"/api/v1/statuses/{reply['id']}/favourite", headers=bob.headers)
        ).status_code == 200
        got = await expect(home, "notification", status_id=reply["id"], started=started)
        assert got.payload["type"] == "favourite"

        # bob edits his post: status.update wherever it shows.
        started = time.monotonic()
        edited = await api.put(
            f"/api/v1/statuses/{hello['id']}",
            data={"status": "hello again @alice #kinfolk"},
            headers=bob.headers,
        )
        assert edited.status_code == 200
        got = await expect(home, "status.update", status_id=hello["id"], started=started)
        assert "hello again" in got.payload["content"]
        await expect(local, "status.update", status_id=hello["id"], started=started)
        await expect(tag, "status.update", status_id=hello["id"], started=started)

        # The muted and the blocked post publicly with the hashtag: nothing reaches alice.
        muted = await post(api, carol, "carol says #kinfolk")
        blocked = await post(api, dave, "dave says #kinfolk")
        # bob deletes his post: delete everywhere it was.
        started = time.monotonic()
        assert (await api.delete(f"/api/v1/statuses/{hello['id']}", headers=bob.headers)).status_code == 200
        for ws in (home, local, tag):
            seen = []
            while True:
                event = await ws_next(ws, PROMPT + 1)
                seen.append(event)
                if event.event == "delete":
                    break
            assert time.monotonic() - started < PROMPT + 0.5
            assert event.payload == hello["id"]
            assert all(e.status_id not in (muted["id"], blocked["id"]) for e in seen), seen
        for ws in (home, local, tag):
            assert all(e.status_id not in (muted["id"], blocked["id"]) for e in await drain(ws, 0.3))
        # bob still sees carol's and dave's public posts on his own public stream's source.
        assert (
            await api.get("/api/v1/timelines/public", params={"local": "1"}, headers=bob.headers)
        ).status_code == 200


async def test_sse_streams_direct_messages_and_list_updates(
    live: Live, api: httpx.AsyncClient, make_user, container: Container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await api.post(f"/api/v1/accounts/{bob.account_id}/follow", headers=alice.headers)
    await api.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    list_id = (await api.post("/api/v1/lists", data={"title": "bob"}, headers=alice.headers)).json()["id"]
    added = await api.post(
        f"/api/v1/lists/{list_id}/accounts",
        data={"account_ids[]": [str(bob.account_id)]},
        headers=alice.headers,
    )
    assert added.status_code == 200
    await settle(container)

    async with (
        SSEStream(api, "/api/v1/streaming/direct", alice.token) as direct,
        SSEStream(api, "/api/v1/streaming/list", alice.token, {"list": list_id}) as in_list,
        SSEStream(api, "/api/v1/streaming/user/notification", alice.token) as notes,
    ):
        assert direct.comments[0] == ":)"
        started = time.monotonic()
        dm = await post(api, bob, "@alice secret", visibility="direct")
        got = await direct.next(PROMPT + 1)
        assert time.monotonic() - started < PROMPT
        assert got.event == "conversation" and got.payload["last_status"]["id"] == dm["id"]
        assert got.payload["unread"] is True and got.payload["accounts"][0]["id"] == str(bob.account_id)
        note = await notes.next(PROMPT + 1)
        assert note.event == "notification" and note.payload["status"]["id"] == dm["id"]

        started = time.monotonic()
        public = await post(api, bob, "for the list")
        got = await in_list.next(PROMPT + 1)
        assert time.monotonic() - started < PROMPT
        assert got.event == "update" and got.status_id == public["id"]
        await api.delete(f"/api/v1/statuses/{public['id']}", headers=bob.headers)
        got = await in_list.next(PROMPT + 1)
        assert got.event == "delete" and got.payload == public["id"]
        # The direct message never went to the list.
        assert in_list.events.empty()


async def test_filters_apply_to_streams_and_changes_are_announced(
    live: Live, api: httpx.AsyncClient, make_user, container: Container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    followed = await api.post(f"/api/v1/accounts/{bob.account_id}/follow", headers=alice.headers)
    assert followed.status_code == 200 and followed.json()["following"] is True
    await settle(container)
    async with container.db.uow() as uow:
        hide = Filter(account_id=alice.account_id, title="no", context=["home", "public"], action="hide")
        warn = Filter(account_id=alice.account_id, title="hm", context=["home"], action="warn")
        uow.session.add_all([hide, warn])
        await uow.session.flush()
        uow.session.add_all(
            [
                FilterKeyword(filter_id=hide.id, keyword="spoiler", whole_word=True),
                FilterKeyword(filter_id=warn.id, keyword="cats", whole_word=False),
            ]
        )
    async with connect(f"{live.ws_url}?stream=user", additional_headers=ws_headers(alice)) as home:
        await ws_subscribe(home, stream="public")
        spoiler = await post(api, bob, "a spoiler")
        cats = await post(api, bob, "about cats")
        # Both of the cats post's events, then whatever else comes within a quiet half second.
        seen = await drain_until(home, lambda seen: sum(e.status_id == cats["id"] for e in seen) >= 2)
        seen += await drain(home, 0.5)
        assert spoiler["id"] not in [e.status_id for e in seen], seen
        marked = [e for e in seen if e.status_id == cats["id"]]
        assert {tuple(e.stream or []) for e in marked} == {("user",), ("public",)}, seen
        by_stream = {tuple(e.stream or []): e for e in marked}
        assert by_stream[("user",)].payload["filtered"][0]["filter"]["title"] == "hm"
        assert by_stream[("public",)].payload["filtered"] == []

        async def announce() -> None:
            async with live.container.db.uow() as uow:
                streams.filters_changed(uow, alice.account_id)

        live.run(announce())
        got = await ws_next(home, PROMPT)
        assert got.event == "filters_changed" and got.payload is None and got.stream == ["user"]


async def test_websocket_subscriptions_errors_and_tokens(
    live: Live, api: httpx.AsyncClient, make_user
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    mallory = await make_user("mallory")
    list_id = (await api.post("/api/v1/lists", data={"title": "mine"}, headers=alice.headers)).json()["id"]

    # The token in the query string, and as the subprotocol (echoed back).
    async with connect(f"{live.ws_url}?access_token={alice.token}") as ws:
        await ws_subscribe(ws, stream="hashtag", tag="cats")
        await ws_subscribe(ws, stream="public:local")
        first = await post(api, bob, "#cats one")
        got = [await ws_next(ws), await ws_next(ws)]
        assert sorted(tuple(e.stream or []) for e in got) == [("hashtag", "cats"), ("public:local",)]
        await ws.send(orjson.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}).decode())
        await ws_subscribe(ws, stream="direct")
        second = await post(api, bob, "#cats two")
        only = await ws_next(ws)
        assert only.stream == ["public:local"] and only.status_id == second["id"]
        assert first["id"] != second["id"]

        for message, status in (
            ({"stream": "nonsense"}, 400),
            ({"stream": "list", "list": "999"}, 401),
            ({"stream": "list"}, 400),
        ):
            await ws.send(orjson.dumps({"type": "subscribe", **message}).decode())
            error = await ws_next(ws, 5)
            assert error.event == "error" and error.payload["status"] == status, (message, error)
        await ws.send("not json")
        await ws_subscribe(ws, stream="list", list=list_id)

    async with connect(live.ws_url, subprotocols=[alice.token]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == alice.token
        await ws_subscribe(ws, stream="user")

    # Someone else's list is refused.
    async with connect(live.ws_url, additional_headers=ws_headers(mallory)) as ws:
        await ws.send(orjson.dumps({"type": "subscribe", "stream": "list", "list": list_id}).decode())
        assert (await ws_next(ws, 5)).payload == {
            "error": "Not authorized to stream this list",
            "status": 401,
        }

    # No token, a bad one, an app token: refused before the upgrade, with a 401.
    for headers in ({}, {"Authorization": "Bearer nope"}):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(live.ws_url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 401

    # SSE: the same answers as Mastodon's streaming server.
    assert (await api.get("/api/v1/streaming/user")).status_code == 401
    assert (await api.get("/api/v1/streaming/user", headers={"Authorization": "Bearer x"})).status_code == 401
    missing = await api.get("/api/v1/streaming/hashtag", headers=alice.headers)
    assert missing.status_code == 400 and missing.json() == {"error": "Missing tag name parameter"}
    assert (await api.get("/api/v1/streaming/nowhere", headers=alice.headers)).status_code == 404
    health = await api.get("/api/v1/streaming/health")
    assert health.status_code == 200 and health.text == "OK"


async def test_scopes_and_revoked_tokens_end_streams(
    live: Live, api: httpx.AsyncClient, make_user, container: Container, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from kinfolk.domain.oauth.models import AccessToken
    from kinfolk.kernel.clock import utcnow
    from kinfolk.kernel.secrets import digest

    writer = await make_user("writer", scopes="write")
    notifier = await make_user("notifier", scopes="read:notifications")
    for stream in ("public", "user", "direct"):
        async with SSEStream(api, f"/api/v1/streaming/{stream.replace(':', '/')}", writer.token) as refused:
            assert refused.status == 401
        async with SSEStream(api, f"/api/v1/streaming/{stream}", notifier.token) as refused:
            assert refused.status == 401
    async with SSEStream(api, "/api/v1/streaming/user/notification", notifier.token) as allowed:
        assert allowed.status == 200

    # A revoked token: the open stream notices at its next check and ends.
    monkeypatch.setattr(stream_session, "TOKEN_RECHECK", 0.2)
    alice = await make_user("alice")
    async with connect(f"{live.ws_url}?stream=user", additional_headers=ws_headers(alice)) as ws:
        async with container.db.uow() as uow:
            await uow.session.execute(
                update(AccessToken)
                .where(AccessToken.token_digest == digest(alice.token))
                .values(revoked_at=utcnow())
            )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        assert ws.close_code is not None

    # disconnect_token closes at once, without waiting for a check.
    monkeypatch.setattr(stream_session, "TOKEN_RECHECK", 3600.0)
    bob = await make_user("bob")
    async with SSEStream(api, "/api/v1/streaming/user", bob.token) as sse:

        async def kill() -> None:
            async with live.container.db.uow(write=False) as uow:
                token_id = (
                    await uow.session.execute(
                        AccessToken.__table__.select().where(AccessToken.token_digest == digest(bob.token))
                    )
                ).first()
                assert token_id is not None
                streams.disconnect_token(uow, token_id.id)

        live.run(kill())
        assert sse._task is not None
        await asyncio.wait_for(sse._task, 3)


async def test_revoking_a_token_through_oauth_closes_its_streams_at_once(
    live: Live, api: httpx.AsyncClient, make_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from kinfolk.domain.oauth.models import AccessToken, Application
    from kinfolk.kernel.secrets import digest

    monkeypatch.setattr(stream_session, "TOKEN_RECHECK", 3600.0)
    carol = await make_user("carol")

    async def client_of_token() -> tuple[str, str]:
        async with live.container.db.uow(write=False) as uow:
            row = (
                await uow.session.execute(
                    Application.__table__.select()
                    .join(AccessToken, AccessToken.application_id == Application.id)
                    .where(AccessToken.token_digest == digest(carol.token))
                )
            ).first()
            assert row is not None
            return row.client_id, row.client_secret

    client_id, client_secret = live.run(client_of_token())
    async with SSEStream(api, "/api/v1/streaming/user", carol.token) as sse:
        revoked = await api.post(
            "/oauth/revoke",
            data={"token": carol.token, "client_id": client_id, "client_secret": client_secret},
        )
        assert revoked.status_code == 200
        assert sse._task is not None
        await asyncio.wait_for(sse._task, 3)
