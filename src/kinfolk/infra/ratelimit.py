"""Fixed-window rate limits: in process by default, in Redis when several processes share limits.

Windows are aligned on the epoch (as Mastodon's), so every process agrees on when one ends:
`reset` is the same instant for everyone counting the same key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("kinfolk.ratelimit")


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a key stands in its current window, after the event that was just counted."""

    count: int
    limit: int
    period: float
    reset: float  # epoch seconds at which the window ends and the count starts again

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def window_of(now: float, period: float) -> tuple[int, float]:
    """The window `now` falls in, and the instant it ends."""
    window = int(now // period)
    return window, (window + 1) * period


class RateLimiter(Protocol):
    #: False when limits are switched off (KINFOLK_RATE_LIMITS=false): nothing is counted.
    enabled: bool

    async def take(self, key: str, limit: int, period: float) -> Hit:
        """Count one event for `key` and say where it stands (`allowed` is False past `limit`)."""
        ...

    async def give_back(self, key: str, period: float) -> None:
        """Uncount one event of the current window: the write it was counted for did not happen."""
        ...

    async def hit(self, key: str, limit: int, period: float) -> bool:
        """Count one event for `key`; False once more than `limit` fell in the current window."""
        ...


class MemoryRateLimiter:
    """Counts in this process. Each key keeps the end of its window, so that keys of different
    periods can be swept together; a sweep drops only ended windows and runs when the table has
    doubled since the last one, so that many live keys (one per address of an attack) cost
    amortised constant time per event rather than a full scan each."""

    enabled = True
    SWEEP_FLOOR = 100_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._sweep_at = self.SWEEP_FLOOR

    async def take(self, key: str, limit: int, period: float) -> Hit:
        now = time.time()
        _, reset = window_of(now, period)
        ends, count = self._windows.get(key, (reset, 0))
        if ends != reset:
            count = 0
        count += 1
        self._windows[key] = (reset, count)
        if len(self._windows) > self._sweep_at:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            self._sweep_at = max(self.SWEEP_FLOOR, 2 * len(self._windows))
        return Hit(count, limit, period, reset)

    async def give_back(self, key: str, period: float) -> None:
        _, reset = window_of(time.time(), period)
        ends, count = self._windows.get(key, (reset, 0))
        if ends == reset and count > 0:
            self._windows[key] = (reset, count - 1)

    async def hit(self, key: str, limit: int, period: float) -> bool:
        return (await self.take(key, limit, period)).allowed


class RedisRateLimiter:
    """Counts shared by every process through Redis; while Redis is unreachable, each process
    counts on its own (a limit per process rather than none, and no request fails for it)."""

    enabled = True

    def __init__(self, redis: Redis, prefix: str = "kinfolk:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.fallback = MemoryRateLimiter()
        self._warned_at = 0.0

    def _key(self, key: str, window: int) -> str:
        return f"{self.prefix}rl:{key}:{window}"

    async def take(self, key: str, limit: int, period: float) -> Hit:
        window, reset = window_of(time.time(), period)
        redis_key = self._key(key, window)
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(redis_key)
            pipe.expire(redis_key, int(period) + 1)
            count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return await self.fallback.take(key, limit, period)
        return Hit(int(count), limit, period, reset)

    def _warn(self, exc: BaseException) -> None:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning("Redis unreachable for rate limits (%s): counting in this process", exc)

    async def give_back(self, key: str, period: float) -> None:
        window, _ = window_of(time.time(), period)
        # Only a count that exists is lowered: DECR on a key gone would create it at -1.
        try:
            await self.redis.eval(_DECR_IF_POSITIVE, 1, self._key(key, window))
        except (RedisError, OSError) as exc:
            self._warn(exc)
            await self.fallback.give_back(key, period)

    async def hit(self, key: str, limit: int, period: float) -> bool:
        return (await self.take(key, limit, period)).allowed


_DECR_IF_POSITIVE = (
    "local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if n > 0 then return redis.call('DECR', KEYS[1]) end return 0"
)


class UnlimitedRateLimiter:
    """KINFOLK_RATE_LIMITS=false: every event is allowed and nothing is stored."""

    enabled = False

    async def take(self, key: str, limit: int, period: float) -> Hit:
        _, reset = window_of(time.time(), period)
        return Hit(0, limit, period, reset)

    async def give_back(self, key: str, period: float) -> None:
        return None

    async def hit(self, key: str, limit: int, period: float) -> bool:
        return True
