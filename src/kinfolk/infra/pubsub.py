"""Publish/subscribe for streaming: in process by default, through Redis when several processes
serve one instance.

Jobs publish small messages on named channels (`timeline:42`, `timeline:public`, ...) and the
streaming endpoints subscribe to the channels their clients asked for. Messages are opaque bytes
here; what they mean is the streaming layer's business.

The Redis implementation keeps one subscriber connection per process, shared by every open
stream (as Mastodon's streaming server does), and subscribes to a Redis channel only while at
least one local subscription wants it. `subscribe` returns once Redis has confirmed the
subscription, so a client told "subscribed" never misses an event published afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol
from weakref import WeakKeyDictionary

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub as RedisPubSubConnection

    from kinfolk.db.database import Database

log = logging.getLogger("kinfolk.pubsub")

# A subscriber that stops reading loses messages beyond this many rather than growing forever.
QUEUE_LIMIT = 1000


class Subscription:
    """One consumer's channels and its queue of `(channel, message)` pairs.

    Iterate it, or `await get()`; `add`/`remove` change the channels (a WebSocket multiplexes
    several streams over one connection); `close()` (or `async with`) releases everything.
    """

    def __init__(self, hub: _Hub) -> None:
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(QUEUE_LIMIT)
        self.channels: set[str] = set()
        self.closed = False
        self.dropped = 0

    async def add(self, *channels: str) -> None:
        new = [c for c in dict.fromkeys(channels) if c not in self.channels]
        if not new or self.closed:
            return
        self.channels.update(new)
        await self._hub.attach(self, new)

    async def remove(self, *channels: str) -> None:
        gone = [c for c in dict.fromkeys(channels) if c in self.channels]
        if not gone:
            return
        self.channels.difference_update(gone)
        await self._hub.detach(self, gone)

    async def get(self) -> tuple[str, bytes]:
        return await self._queue.get()

    def get_nowait(self) -> tuple[str, bytes] | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        channels, self.channels = list(self.channels), set()
        if channels:
            await self._hub.detach(self, channels)

    def deliver(self, channel: str, message: bytes) -> None:
        """Called by the hub, from any thread: queue the message on this subscriber's loop."""
        if self.closed:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._put(channel, message)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._put, channel, message)

    def _put(self, channel: str, message: bytes) -> None:
        try:
            self._queue.put_nowait((channel, message))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("a slow stream consumer dropped %d messages", self.dropped)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        if self.closed:
            raise StopAsyncIteration
        return await self.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Hub(Protocol):
    async def attach(self, sub: Subscription, channels: list[str]) -> None: ...

    async def detach(self, sub: Subscription, channels: list[str]) -> None: ...


class PubSub(Protocol):
    async def publish(self, channel: str, message: bytes) -> None: ...

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None: ...

    async def subscribe(self, channels: Iterable[str]) -> Subscription: ...

    async def close(self) -> None: ...


class _Registry:
    """Which local subscriptions want which channel."""

    def __init__(self) -> None:
        self.subs: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription, channels: list[str]) -> list[str]:
        """Register; returns the channels nobody wanted before."""
        first = []
        for channel in channels:
            wanting = self.subs.setdefault(channel, set())
            if not wanting:
                first.append(channel)
            wanting.add(sub)
        return first

    def remove(self, sub: Subscription, channels: list[str]) -> list[str]:
        """Unregister; returns the channels nobody wants any more."""
        last = []
        for channel in channels:
            wanting = self.subs.get(channel)
            if wanting is None:
                continue
            wanting.discard(sub)
            if not wanting:
                del self.subs[channel]
                last.append(channel)
        return last

    def dispatch(self, channel: str, message: bytes) -> None:
        for sub in list(self.subs.get(channel, ())):
            sub.deliver(channel, message)


class MemoryPubSub:
    """Everything in one process: publishing hands the message to local subscribers directly."""

    def __init__(self) -> None:
        self._registry = _Registry()

    async def publish(self, channel: str, message: bytes) -> None:
        self._registry.dispatch(channel, message)

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        for channel, message in messages:
            self._registry.dispatch(channel, message)

    async def subscribe(self, channels: Iterable[str]) -> Subscription:
        sub = Subscription(self)
        await sub.add(*channels)
        return sub

    async def attach(self, sub: Subscription, channels: list[str]) -> None:
        self._registry.add(sub, channels)

    async def detach(self, sub: Subscription, channels: list[str]) -> None:
        self._registry.remove(sub, channels)

    async def close(self) -> None:
        self._registry.subs.clear()


class RedisPubSub:
    """Redis PUBLISH/SUBSCRIBE with every channel name under `prefix`."""

    # How long `subscribe` waits for Redis to confirm before giving up on the guarantee.
    CONFIRM_TIMEOUT = 5.0

    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self.redis = redis
        self.prefix = prefix
        self._registry = _Registry()
        self._conn: RedisPubSubConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}

    def _key(self, channel: str) -> str:
        return self.prefix + channel

    async def publish(self, channel: str, message: bytes) -> None:
        await self.redis.publish(self._key(channel), message)

    async def publish_many(self, messages: Iterable[tuple[str, bytes]]) -> None:
        batch = list(messages)
        if not batch:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel, message in batch:
                pipe.publish(self._key(channel), message)
            await pipe.execute()

    async def subscribe(self, channels: Iterable[str]) -> Subscription:
        sub = Subscription(self)
        await sub.add(*channels)
        return sub

    async def attach(self, sub: Subscription, channels: list[str]) -> None:
        first = self._registry.add(sub, channels)
        if not first:
            return
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future[None]] = []
        async with self._lock:
            conn = await self._connection()
            keys = [self._key(c) for c in first]
            for key in keys:
                future: asyncio.Future[None] = loop.create_future()
                self._confirmations.setdefault(key, []).append(future)
                waiting.append(future)
            await conn.subscribe(*keys)
        _, pending = await asyncio.wait(waiting, timeout=self.CONFIRM_TIMEOUT)
        for future in pending:
            future.cancel()
        if pending:
            log.warning("Redis did not confirm %d subscription(s) in time", len(pending))

    async def detach(self, sub: Subscription, channels: list[str]) -> None:
        last = self._registry.remove(sub, channels)
        if not last or self._conn is None:
            return
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._conn.unsubscribe(*[self._key(c) for c in last])

    async def _connection(self) -> RedisPubSubConnection:
        if self._conn is None:
            self._conn = self.redis.pubsub()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="kinfolk-pubsub-reader")
        return self._conn

    async def _read(self) -> None:
        """Hand each Redis message to the local subscribers of its channel, until closed."""
        while True:
            conn = self._conn
            if conn is None:
                return
            if not conn.subscribed:
                await asyncio.sleep(0.05)
                continue
            try:
                message = await conn.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading from Redis pub/sub failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            kind = message.get("type")
            key = _text(message.get("channel"))
            if kind == "subscribe":
                for future in self._confirmations.pop(key, []):
                    if not future.done():
                        future.set_result(None)
            elif kind == "message" and key.startswith(self.prefix):
                data = message.get("data")
                payload = data if isinstance(data, bytes) else str(data).encode()
                self._registry.dispatch(key[len(self.prefix) :], payload)

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.aclose()
        self._registry.subs.clear()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


# Which pub/sub belongs to which database, so that code holding only a unit of work (a
# notification listener, say) can publish after its commit.
_BY_DATABASE: WeakKeyDictionary[Database, PubSub] = WeakKeyDictionary()


def bind_pubsub(db: Database, pubsub: PubSub) -> None:
    _BY_DATABASE[db] = pubsub


def pubsub_for(db: Database) -> PubSub | None:
    return _BY_DATABASE.get(db)
