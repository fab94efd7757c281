"""The engine for SQLite or PostgreSQL, and the unit of work every request and job runs in.

Services never commit: a unit of work commits once at its end, together with the jobs the
work enqueued (a transactional outbox), or rolls everything back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from kinfolk.db import sqlite_driver

JOBS_CHANNEL = "kinfolk_jobs"
log = logging.getLogger("kinfolk.db")


# SQLite statements run on the event loop's own thread (db/sqlite_driver.py): a pooled connection
# is no longer a thread, only an open file, and a session holds one only while its statements run
# or it waits for the write lock. With 16 busy clients of the home timeline, entering a read unit
# of work took 0.3 ms on average (196 ms with aiosqlite's threads), so 4 + 4 is plenty. SQLite
# runs one writer at a time anyway, and readers in WAL mode do not wait for it.
SQLITE_POOL_SIZE = 4
# How long a statement waits for SQLite's write lock (asynchronously, see sqlite_driver).
SQLITE_LOCK_TIMEOUT = 30.0
# WAL pages after which a connection that leaves checkpoints to others checkpoints anyway
# (about 80 MB; SQLite's default is 1,000 pages).
DEFERRED_CHECKPOINT_PAGES = 20_000


def make_engine(url: str, *, pool_size: int = 10, checkpoints: bool = True) -> AsyncEngine:
    if url.startswith("sqlite"):
        size = min(pool_size, SQLITE_POOL_SIZE)
        engine = create_async_engine(
            url,
            module=sqlite_driver.sqlalchemy_module(),
            connect_args={"timeout": SQLITE_LOCK_TIMEOUT},
            pool_size=size,
            max_overflow=size,
            pool_timeout=30,
        )
        _configure_sqlite(engine, checkpoints=checkpoints)
        return engine
    if "pool=null" in url:
        return create_async_engine(url.replace("?pool=null", ""), poolclass=NullPool)
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine, *, checkpoints: bool) -> None:
    """WAL, foreign keys, and explicit BEGINs so writers take the lock up front.

    A deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    writer got there first; writers asking for `BEGIN IMMEDIATE` queue for the lock instead. The
    queueing is the driver's: it retries a busy BEGIN after `asyncio.sleep`. SQLite's own
    busy_timeout must stay 0 (the driver opens connections so): it would wait inside the library,
    on the event loop's thread, blocking the very coroutine that holds the lock.

    With `checkpoints=False` a commit rarely checkpoints the WAL (only past
    `DEFERRED_CHECKPOINT_PAGES`): for the web side of `kinfolk serve`, whose worker thread's
    connections checkpoint at SQLite's default. A checkpoint after a fan-out copies hundreds of
    pages and syncs the file, inside whichever commit triggers it: on the web loop that stalled
    every request in flight (bench/RESULTS.md, G7).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not checkpoints:
            cursor.execute(f"PRAGMA wal_autocheckpoint={DEFERRED_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One per process: the engine, a session factory, and a hook run after jobs commit."""

    def __init__(self, url: str, *, pool_size: int = 10, checkpoints: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, checkpoints=checkpoints)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.on_jobs_committed: list[Callable[[set[str]], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def uow(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self, write=write)

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """`async with db.uow() as uow:` gives `uow.session`; commits at the end unless it raised."""

    def __init__(self, db: Database, *, write: bool = True) -> None:
        self.db = db
        self.write = write
        self.session: AsyncSession = db.sessionmaker()
        self._queues_enqueued: set[str] = set()
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> Self:
        if self.db.is_sqlite:
            mode = "IMMEDIATE" if self.write else "DEFERRED"
            await self.session.connection(execution_options={"sqlite_begin": mode})
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                await self.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        if self._queues_enqueued and self.db.dialect == "postgresql":
            for queue in sorted(self._queues_enqueued):
                await self.session.execute(
                    text("SELECT pg_notify(:channel, :queue)"), {"channel": JOBS_CHANNEL, "queue": queue}
                )
        await self.session.commit()
        queues, self._queues_enqueued = self._queues_enqueued, set()
        if queues:
            for callback in self.db.on_jobs_committed:
                callback(queues)
        callbacks, self._after_commit = self._after_commit, []
        for after in callbacks:
            try:
                await after()
            except Exception:  # the data is committed; a failed notification must not undo that
                log.exception("after-commit callback failed")

    async def rollback(self) -> None:
        await self.session.rollback()
        self._queues_enqueued.clear()
        self._after_commit.clear()

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once this unit of work has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def note_enqueued(self, queue: str) -> None:
        self._queues_enqueued.add(queue)

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        **options: Any,
    ) -> int | None:
        """Add a job in this transaction; it exists only if the transaction commits."""
        from kinfolk.jobs.queue import enqueue

        return await enqueue(self, kind, payload or {}, **options)
