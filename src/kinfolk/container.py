"""The objects a process shares: settings, the database, storage. Chosen once at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from kinfolk.config import Settings
from kinfolk.db.database import Database
from kinfolk.db.reader import Reader
from kinfolk.infra.pubsub import MemoryPubSub, PubSub, RedisPubSub, bind_pubsub
from kinfolk.infra.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, UnlimitedRateLimiter
from kinfolk.infra.storage import Storage, build_storage
from kinfolk.kernel.uris import Uris


@dataclass
class Container:
    settings: Settings
    db: Database
    storage: Storage
    ratelimiter: RateLimiter
    redis: Redis | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    # Services made lazily into `extras` (federation's HTTP session) register how to close them.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Streaming events: in process, or Redis pub/sub when KINFOLK_REDIS_URL is set.
    pubsub: PubSub = field(default_factory=MemoryPubSub)

    # The hottest reads' own connections (db/reader.py).
    reader: Reader = field(init=False)

    @property
    def uris(self) -> Uris:
        """Every local actor, status, activity, collection, tag and page URL (kernel/uris.py)."""
        return self.settings.uris

    def __post_init__(self) -> None:
        bind_pubsub(self.db, self.pubsub)
        self.reader = Reader(self.db.url, self.db.engine.dialect)

    @classmethod
    def build(cls, settings: Settings, *, pool_size: int = 10, checkpoints: bool = True) -> Container:
        settings.ensure_secret_key()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url, pool_size=pool_size, checkpoints=checkpoints)
        storage = build_storage(settings)
        redis: Redis | None = None
        ratelimiter: RateLimiter
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url)
        if not settings.rate_limits:
            ratelimiter = UnlimitedRateLimiter()
        elif redis is not None:
            ratelimiter = RedisRateLimiter(redis, prefix=settings.redis_prefix)
        else:
            ratelimiter = MemoryRateLimiter()
        pubsub: PubSub = (
            RedisPubSub(redis, prefix=settings.redis_prefix) if redis is not None else MemoryPubSub()
        )
        container = cls(
            settings=settings, db=db, storage=storage, ratelimiter=ratelimiter, redis=redis, pubsub=pubsub
        )
        # Searches resolve remote accounts and posts through federation (imported here: it
        # imports this module).
        from kinfolk.federation.resolver import install

        install(container)
        return container

    async def close(self) -> None:
        while self.closers:
            await self.closers.pop()()
        await self.pubsub.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.reader.close()
        await self.db.dispose()
