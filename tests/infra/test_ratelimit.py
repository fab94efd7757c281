from __future__ import annotations

import os
import secrets
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from kinfolk.infra.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, UnlimitedRateLimiter

REDIS_URL = os.environ.get("KINFOLK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        if os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    prefix = f"kinfolk-test-{secrets.token_hex(4)}:"
    try:
        yield RedisRateLimiter(redis, prefix=prefix)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    results = [await limiter.hit("login:1.2.3.4", limit=3, period=300) for _ in range(5)]
    assert results == [True, True, True, False, False]


async def test_keys_are_independent(limiter: RateLimiter) -> None:
    assert await limiter.hit("a", limit=1, period=300)
    assert not await limiter.hit("a", limit=1, period=300)
    assert await limiter.hit("b", limit=1, period=300)


async def test_take_reports_count_limit_and_the_windows_end(limiter: RateLimiter) -> None:
    before = time.time()
    hits = [await limiter.take("posts:7", limit=2, period=600) for _ in range(3)]
    assert [(h.count, h.remaining, h.allowed) for h in hits] == [(1, 1, True), (2, 0, True), (3, 0, False)]
    # Windows are aligned on the epoch: the reset is the end of the current 10-minute slot.
    assert hits[0].reset % 600 == 0
    assert before < hits[0].reset <= before + 600
    assert hits[0].limit == 2 and hits[0].period == 600


async def test_give_back_uncounts_one_event_and_never_goes_below_zero(limiter: RateLimiter) -> None:
    await limiter.take("follows:1", limit=5, period=300)
    await limiter.take("follows:1", limit=5, period=300)
    await limiter.give_back("follows:1", period=300)
    assert (await limiter.take("follows:1", limit=5, period=300)).count == 2
    await limiter.give_back("never-taken", period=300)
    await limiter.give_back("never-taken", period=300)
    assert (await limiter.take("never-taken", limit=5, period=300)).count == 1


async def test_switched_off_nothing_is_counted() -> None:
    limiter = UnlimitedRateLimiter()
    assert not limiter.enabled
    hits = [await limiter.take("k", limit=1, period=60) for _ in range(3)]
    assert all(h.allowed for h in hits)
    assert await limiter.hit("k", limit=1, period=60)


async def test_memory_sweep_keeps_live_counts_of_every_period() -> None:
    """A sweep (forced here by a small floor) drops only ended windows: counts of keys with
    other periods, still in their window, survive it, so that many addresses cannot reset a
    limit by filling the table."""
    limiter = MemoryRateLimiter()
    limiter.SWEEP_FLOOR = 10
    limiter._sweep_at = 10
    assert await limiter.hit("long", limit=1, period=86_400)
    for i in range(50):
        await limiter.hit(f"short:{i}", limit=5, period=300)
    assert not await limiter.hit("long", limit=1, period=86_400)
    assert (await limiter.take("short:0", limit=5, period=300)).count == 2


async def test_memory_sweep_is_amortised() -> None:
    """With every key live, the table is not rescanned on each event: the next sweep waits
    until it has doubled."""
    limiter = MemoryRateLimiter()
    limiter.SWEEP_FLOOR = 100
    limiter._sweep_at = 100
    for i in range(101):
        await limiter.hit(f"k:{i}", limit=1, period=300)
    assert limiter._sweep_at == 202


async def test_redis_limits_count_in_the_process_while_redis_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    try:
        limiter = RedisRateLimiter(redis, prefix="down:")
        assert [await limiter.hit("k", 2, 60) for _ in range(3)] == [True, True, False]
        assert await limiter.hit("other", 2, 60) is True
    finally:
        await redis.aclose()
