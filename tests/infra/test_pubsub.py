"""The pub/sub behind streaming: in process and through Redis, with the same guarantees."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from kinfolk.infra.pubsub import MemoryPubSub, PubSub, RedisPubSub

REDIS_URL = os.environ.get("KINFOLK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _redis() -> Redis:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        if os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return redis


@pytest.fixture(params=["memory", "redis"])
async def pubsub(request: pytest.FixtureRequest) -> AsyncIterator[PubSub]:
    if request.param == "memory":
        memory = MemoryPubSub()
        yield memory
        await memory.close()
        return
    redis = await _redis()
    hub = RedisPubSub(redis, prefix=f"kinfolk-test-{secrets.token_hex(4)}:")
    try:
        yield hub
    finally:
        await hub.close()
        await redis.aclose()


async def _next(sub, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    return await asyncio.wait_for(sub.get(), timeout)


async def test_subscribers_get_what_is_published_on_their_channels(pubsub: PubSub) -> None:
    first = await pubsub.subscribe(["a", "b"])
    second = await pubsub.subscribe(["b"])
    await pubsub.publish("a", b"1")
    await pubsub.publish("b", b"2")
    await pubsub.publish("c", b"3")
    assert await _next(first) == ("a", b"1")
    assert await _next(first) == ("b", b"2")
    assert await _next(second) == ("b", b"2")
    await asyncio.sleep(0.05)
    assert first.get_nowait() is None and second.get_nowait() is None
    await first.close()
    await second.close()


async def test_channels_can_be_added_and_removed(pubsub: PubSub) -> None:
    sub = await pubsub.subscribe([])
    await sub.add("x")
    await pubsub.publish("x", b"one")
    assert await _next(sub) == ("x", b"one")
    await sub.remove("x")
    await sub.add("y")
    await pubsub.publish("x", b"gone")
    await pubsub.publish("y", b"two")
    assert await _next(sub) == ("y", b"two")
    assert sub.get_nowait() is None
    await sub.close()


async def test_publish_many_keeps_order(pubsub: PubSub) -> None:
    sub = await pubsub.subscribe(["feed"])
    await pubsub.publish_many([("feed", str(i).encode()) for i in range(20)])
    received = [await _next(sub) for _ in range(20)]
    assert [m for _, m in received] == [str(i).encode() for i in range(20)]
    await sub.close()


async def test_a_closed_subscription_receives_nothing_and_others_keep_theirs(pubsub: PubSub) -> None:
    gone = await pubsub.subscribe(["shared"])
    kept = await pubsub.subscribe(["shared"])
    await gone.close()
    await pubsub.publish("shared", b"hello")
    assert await _next(kept) == ("shared", b"hello")
    assert gone.get_nowait() is None
    await kept.close()


async def test_publishing_from_another_thread_reaches_the_subscriber_loop() -> None:
    """A worker on another event loop (or thread) publishes into the web loop's queues."""
    memory = MemoryPubSub()
    sub = await memory.subscribe(["t"])
    thread = threading.Thread(target=lambda: asyncio.run(memory.publish("t", b"from afar")))
    thread.start()
    thread.join()
    assert await _next(sub) == ("t", b"from afar")


async def test_redis_prefix_isolates_instances() -> None:
    redis = await _redis()
    one = RedisPubSub(redis, prefix=f"kinfolk-test-{secrets.token_hex(4)}:")
    two = RedisPubSub(redis, prefix=f"kinfolk-test-{secrets.token_hex(4)}:")
    try:
        heard = await one.subscribe(["timeline:public"])
        deaf = await two.subscribe(["timeline:public"])
        await one.publish("timeline:public", b"mine")
        assert await _next(heard) == ("timeline:public", b"mine")
        await asyncio.sleep(0.1)
        assert deaf.get_nowait() is None
    finally:
        await one.close()
        await two.close()
        await redis.aclose()


async def test_redis_subscription_is_live_when_subscribe_returns() -> None:
    """A stream that tells its client "subscribed" must not miss the very next event."""
    redis = await _redis()
    publisher = Redis.from_url(REDIS_URL)
    prefix = f"kinfolk-test-{secrets.token_hex(4)}:"
    hub = RedisPubSub(redis, prefix=prefix)
    try:
        for i in range(10):
            sub = await hub.subscribe([f"c{i}"])
            await publisher.publish(f"{prefix}c{i}", b"now")
            assert await _next(sub) == (f"c{i}", b"now")
            await sub.close()
    finally:
        await hub.close()
        await publisher.aclose()
        await redis.aclose()
