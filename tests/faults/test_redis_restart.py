"""Redis stopped and started again (a private redis-server) under `kinfolk serve` with
KINFOLK_REDIS_URL. While it is down, posting, reading, following and signing in keep working
(rate limits count in the process); streaming degrades; once it is back, a streaming client
that reconnects when its stream ends hears new posts again, without restarting Kinfolk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.faults.harness import Account, Kinfolk, PrivateRedis, kinfolk_env, seed_accounts


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


class ReconnectingStream:
    """A user stream that connects again whenever it ends, as Mastodon's clients do."""

    def __init__(self, url: str, account: Account) -> None:
        self.url = url.replace("http://", "ws://") + "/api/v1/streaming?stream=user"
        self.account = account
        self.seen: list[str] = []
        self.connections = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.ws_connect(self.url, headers=self.account.headers, heartbeat=5) as ws:
                        self.connections += 1
                        self.connected.set()
                        async for message in ws:
                            if message.type is not aiohttp.WSMsgType.TEXT:
                                break
                            event = json.loads(message.data)
                            if event.get("event") == "update":
                                self.seen.append(json.loads(event["payload"])["id"])
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                self.connected.clear()
                await asyncio.sleep(0.5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _post(client: httpx.AsyncClient, author: Account, text: str) -> str:
    r = await client.post("/api/v1/statuses", headers=author.headers, json={"status": text})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def _heard(stream: ReconnectingStream, client: httpx.AsyncClient, author: Account, label: str) -> None:
    """Post every second until the stream hears one of the posts (at most 30 s)."""
    deadline = time.monotonic() + 30
    posted: list[str] = []
    while time.monotonic() < deadline:
        posted.append(await _post(client, author, f"{label} {len(posted)}"))
        for _ in range(10):
            if set(posted) & set(stream.seen):
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{label}: the stream heard none of {posted} (connections: {stream.connections})")


async def test_redis_restart_degrades_streaming_and_nothing_else(
    database_url: str, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    env = kinfolk_env(tmp_path, database_url, KINFOLK_REDIS_URL=private_redis.url)
    server = Kinfolk(tmp_path, env, "serve", name="serve")
    server.start()
    stream: ReconnectingStream | None = None
    try:
        accounts = await seed_accounts(database_url, tmp_path / "data", ["author", "reader", "other"])
        author, reader, other = accounts["author"], accounts["reader"], accounts["other"]
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            r = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=reader.headers)
            assert r.status_code == 200, r.text
            stream = ReconnectingStream(server.url, reader)
            stream.start()
            await asyncio.wait_for(stream.connected.wait(), 15)
            await _heard(stream, client, author, "before")

            private_redis.stop()
            # Everything but streaming keeps working while Redis is down.
            for i in range(5):
                await _post(client, author, f"while down {i}")
            r = await client.get("/api/v1/timelines/home", headers=reader.headers)
            assert r.status_code == 200, r.text
            assert r.json()[0]["content"]
            r = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=other.headers)
            assert r.status_code == 200, r.text
            r = await client.post(
                "/api/v1/apps",
                json={"client_name": "while redis is down", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
            )
            assert r.status_code == 200, r.text  # rate-limited by address: counted in the process
            r = await client.get(f"/api/v1/accounts/{author.id}/statuses", headers=other.headers)
            assert r.status_code == 200 and len(r.json()) >= 5, r.text

            private_redis.start()  # same port, empty: the subscriptions must be made again
            await _heard(stream, client, author, "after")
    finally:
        if stream is not None:
            await stream.close()
        server.stop()
