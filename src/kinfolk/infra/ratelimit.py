"""Fixed-window rate limits: in process by default, in Redis when several processes share limits."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("kinfolk.ratelimit")


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, period: float) -> bool:
        """Count one event for `key`; False once more than `limit` fell in the current window."""
        ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, period: float) -> bool:
        window = int(time.time() // period)
        current_window, count = self._windows.get(key, (window, 0))
        if current_window != window:
            count = 0
        count += 1
        self._windows[key] = (window, count)
        if len(self._windows) > 100_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        return count <= limit


class RedisRateLimiter:
    """Limits shared by every process through Redis; while Redis is unreachable, each process
    counts on its own (a limit per process rather than none, and no request fails for it)."""

    def __init__(self, redis: Redis, prefix: str = "kinfolk:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.fallback = MemoryRateLimiter()
        self._warned_at = 0.0

    async def hit(self, key: str, limit: int, period: float) -> bool:
        window = int(time.time() // period)
        redis_key = f"{self.prefix}rl:{key}:{window}"
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(redis_key)
            pipe.expire(redis_key, int(period) + 1)
            count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("Redis unreachable for rate limits (%s): counting in this process", exc)
            return await self.fallback.hit(key, limit, period)
        return int(count) <= limit
