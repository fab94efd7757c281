from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from kinfolk.infra.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

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
