"""Connections for the hottest reads, beside the ORM's pool.

A pooled SQLAlchemy connection costs more to check out and return than a timeline page's SQL
(bench/RESULTS.md). The reader keeps its own: on SQLite one read-only connection per thread,
used synchronously (a read in WAL mode never waits for a writer); on PostgreSQL an asyncpg
pool per event loop, whose connections cache prepared statements. Reads run in autocommit:
each statement sees what was committed when it started.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import Dialect

from kinfolk.db.prepared import Prepared, Row


class ReadConnection:
    """One connection for the length of a `Reader.connection()` block."""

    def __init__(self, dialect: Dialect, sqlite_connection: Any = None, pg_connection: Any = None) -> None:
        self.dialect = dialect
        self._sqlite = sqlite_connection
        self._pg = pg_connection

    async def fetch(self, prepared: Prepared, values: dict[str, Any]) -> Sequence[Row]:
        sql, params = prepared.bound(self.dialect, values)
        if self._sqlite is not None:
            return self._sqlite.execute(sql, params).fetchall()
        return await self._pg.fetch(sql, *params)


async def _no_reset(connection: Any) -> None:
    return None


class Reader:
    def __init__(self, url: str, dialect: Dialect, *, pool_size: int = 4) -> None:
        parsed = make_url(url)
        self.dialect = dialect
        self._pool_size = pool_size
        self._sqlite_path: str | None = None
        self._pg_dsn: str | None = None
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and "mode=memory" not in url:
                self._sqlite_path = database
        elif parsed.get_backend_name() == "postgresql":
            self._pg_dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._local = threading.local()
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = {}
        self._lock = threading.Lock()
        self._sqlite_connections: list[sqlite3.Connection] = []

    @property
    def available(self) -> bool:
        return self._sqlite_path is not None or self._pg_dsn is not None

    def _sqlite_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            assert self._sqlite_path is not None
            connection = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only = 1")
            connection.execute("PRAGMA busy_timeout = 1000")
            self._local.connection = connection
            with self._lock:
                self._sqlite_connections.append(connection)
        return connection

    async def _pg_pool(self) -> Any:
        loop = asyncio.get_running_loop()
        creating = self._pools.get(loop)
        if creating is not None and creating.done() and creating.exception() is not None:
            creating = None  # the database was unreachable then: try again now
        if creating is None:
            # One pool per loop, however many requests arrive before it exists.
            creating = self._pools[loop] = loop.create_task(self._create_pool())
        return await asyncio.shield(creating)

    async def _create_pool(self) -> Any:
        import asyncpg

        # A page statement takes 1-2 ms to plan and a fraction of that to run: keep the
        # prepared statement's generic plan instead of planning each execution anew. Only
        # autocommit SELECTs run here: there is no session state to reset on release, and
        # the default reset is a round trip per use.
        return await asyncpg.create_pool(
            self._pg_dsn,
            min_size=1,
            max_size=self._pool_size,
            reset=_no_reset,
            server_settings={"plan_cache_mode": "force_generic_plan"},
            # asyncpg caches statements up to 15 KB by default; a page statement is about that.
            max_cacheable_statement_size=256 * 1024,
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[ReadConnection]:
        if self._sqlite_path is not None:
            yield ReadConnection(self.dialect, sqlite_connection=self._sqlite_connection())
            return
        pool = await self._pg_pool()
        async with pool.acquire() as pg:
            try:
                yield ReadConnection(self.dialect, pg_connection=pg)
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError) or _broken(exc):
                    # A connection that failed or was cancelled mid-statement, or that the
                    # server closed while it was idle (a restart), is left mid-protocol:
                    # handed back as it is, its next user got "another operation is in
                    # progress". The pool opens a fresh one instead.
                    pg.terminate()
                raise

    async def close(self) -> None:
        """Close what this loop (and, for SQLite, every thread) opened."""
        loop = asyncio.get_running_loop()
        creating = self._pools.pop(loop, None)
        if creating is not None:
            try:
                pool = await creating
            except Exception:  # it never opened: nothing to close
                pool = None
            if pool is not None:
                await pool.close()
        with self._lock:
            connections, self._sqlite_connections = self._sqlite_connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()


def _broken(exc: BaseException) -> bool:
    import asyncpg

    from kinfolk.db.faults import classify

    return classify(exc) == "unavailable" or isinstance(
        exc, asyncpg.InterfaceError | asyncpg.InternalClientError
    )
