"""SQLite for SQLAlchemy's asyncio engine, run on the calling thread instead of a thread per connection.

SQLAlchemy's `sqlite+aiosqlite` dialect drives the `aiosqlite` module, which runs every sqlite3
call on a thread of its own per connection: each statement is a hop to that thread and back, and
under load those threads fight the event loop for the GIL (bench/RESULTS.md). Kinfolk's statements
take microseconds, so waiting for another thread costs more than the work. This module is a
minimal stand-in for the part of the `aiosqlite` API that SQLAlchemy's adapter uses, whose
coroutines call sqlite3 directly; `sqlalchemy_module()` gives the object to pass to
`create_async_engine(url, module=...)` with a `sqlite+aiosqlite://` URL.

The one thing that must not run on the event loop is a wait for a lock. SQLite's own busy handler
sleeps inside the library: on the loop thread it would stall every request, and deadlock outright
when the lock holder is a coroutine of the same loop (it cannot reach its COMMIT while the loop is
blocked). So connections are opened with a busy timeout of 0, and a statement that fails with
SQLITE_BUSY is retried after an asynchronous sleep until the connection's `timeout` (30 s in
Kinfolk) has passed, then the last "database is locked" error is raised. The sleep lasts 0.5 ms,
doubling up to 20 ms, or less: a connection of this process that ends a transaction in which it
wrote wakes the waiters for the same file at once, in whichever event loop they wait (the web
loop, or the job worker's loop on its thread); writers in other processes are seen by the polling
alone. Sleeping lets the holder run wherever it is.

A statement is retried only when running it again is safe: when it failed without the connection
holding any lock, i.e. outside a transaction (a `BEGIN IMMEDIATE`, an autocommit statement), or as
the first statement after a `BEGIN DEFERRED`, or when it is a COMMIT (SQLite keeps the transaction
open when COMMIT is busy and documents that it may be retried). In WAL mode, which Kinfolk uses,
only the first two happen: readers never wait for the writer and a COMMIT needs no further lock,
but a new reader can still meet SQLITE_BUSY while another process recovers the WAL after a crash.
A statement that is busy in the middle of a transaction (a deferred reader upgrading to a writer)
is not retried: SQLite does not wait there either, the transaction must be rolled back.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import cache
from sqlite3 import (
    Binary,
    DatabaseError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    sqlite_version,
    sqlite_version_info,
)
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, cast

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util.concurrency import await_

__all__ = [
    "Binary",
    "Connection",
    "Cursor",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "connect",
    "sqlalchemy_module",
    "sqlite_version",
    "sqlite_version_info",
]

# SQLAlchemy's dialect reports this as the driver's version.
__version__ = "1.0"

# How long a statement waits for a lock by default: the `timeout` sqlite3 itself would use for its
# blocking busy wait, here spent in `asyncio.sleep`.
DEFAULT_TIMEOUT = 30.0
FIRST_DELAY = 0.0005
MAX_DELAY = 0.02

_SQLITE_BUSY = 5
_SQLITE_BUSY_SNAPSHOT = 517  # a reader's snapshot is stale: waiting cannot help

_T = TypeVar("_T")
# sqlite3 also accepts "", which SQLAlchemy sets for its non-autocommit isolation levels.
_IsolationLevel = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None
_Parameters = Sequence[Any] | dict[str, Any]


def _is_busy(error: OperationalError) -> bool:
    code: int | None = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(error)
    return code & 0xFF == _SQLITE_BUSY and code != _SQLITE_BUSY_SNAPSHOT


def _begins_without_lock(sql: str) -> bool:
    """Whether the statement that just opened a transaction left it holding no lock yet.

    `BEGIN` / `BEGIN DEFERRED` and a `SAVEPOINT` outside a transaction take their locks at the
    first statement that reads or writes; `BEGIN IMMEDIATE` / `EXCLUSIVE` take them at once.
    """
    head = sql.lstrip()[:40].upper()
    return "IMMEDIATE" not in head and "EXCLUSIVE" not in head


def _is_commit(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head.startswith(("COMMIT", "END"))


class _LockWaiters:
    """The coroutines of this process waiting for a lock on one database file, in any event loop.

    A connection that ends a transaction in which it wrote wakes them at once: polling alone
    would leave the lock idle for up to `MAX_DELAY` at each hand-over, and every write of the
    process queues on it.
    """

    _by_file: dict[str, _LockWaiters] = {}
    _registry_mutex = threading.Lock()

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._futures: set[asyncio.Future[None]] = set()

    @classmethod
    def of(cls, database: str) -> _LockWaiters:
        in_memory = database == ":memory:" or database.startswith("file:")
        key = database if in_memory else os.path.abspath(database)
        with cls._registry_mutex:
            waiters = cls._by_file.get(key)
            if waiters is None:
                waiters = cls._by_file[key] = cls()
            return waiters

    def listen(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._mutex:
            self._futures.add(future)
        return future

    def forget(self, future: asyncio.Future[None]) -> None:
        with self._mutex:
            self._futures.discard(future)

    def wake(self) -> None:
        if not self._futures:  # the common case, read without the mutex
            return
        with self._mutex:
            futures, self._futures = self._futures, set()
        for future in futures:
            loop = future.get_loop()
            try:
                if _running_loop() is loop:
                    loop.call_soon(_resolve, future)
                else:
                    loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # that loop is closed; nobody is waiting there any more
                pass


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _wait(future: asyncio.Future[None], timeout: float) -> None:
    """Until `future` is resolved or `timeout` seconds have passed, whichever comes first."""
    timer = future.get_loop().call_later(timeout, _resolve, future)
    try:
        await future
    finally:
        timer.cancel()


class Connection:
    """One sqlite3 connection whose coroutines run each call on the caller's thread.

    Used from one event loop at a time (SQLAlchemy's pool hands a connection to one session);
    `check_same_thread=False` only because the pool may close it from another thread.
    """

    def __init__(self, raw: sqlite3.Connection, database: str, timeout: float) -> None:
        self._raw = raw
        # aiosqlite's name, read by SQLAlchemy's adapter: the sqlite3 connection, None once closed.
        self._connection: sqlite3.Connection | None = raw
        self.timeout = timeout
        self._waiters = _LockWaiters.of(database)
        # True between a BEGIN that took no lock and the next statement (see _may_retry).
        self._unlocked_transaction = False
        # Whether the open transaction began with the write lock, and sqlite3's count of changed
        # rows when it began: together they tell whether ending it releases the write lock.
        self._began_writing = False
        self._changes_at_begin = 0

    # -- attributes --------------------------------------------------------------------------

    @property
    def isolation_level(self) -> str | None:
        return self._raw.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._raw.isolation_level = cast(_IsolationLevel, value)

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    @property
    def total_changes(self) -> int:
        return self._raw.total_changes

    # -- statements --------------------------------------------------------------------------

    def cursor(self) -> Cursor:
        """A new cursor; unlike aiosqlite's there is no thread to wait for, so it is not awaited
        (`async with connection.cursor() as cursor:` works as with aiosqlite)."""
        return Cursor(self, self._raw.cursor())

    async def execute(self, sql: str, parameters: _Parameters = ()) -> Cursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[_Parameters]) -> Cursor:
        cursor = self.cursor()
        return await cursor.executemany(sql, parameters)

    async def commit(self) -> None:
        raw = self._raw
        wrote = self._wrote()
        try:
            raw.commit()
        except OperationalError as error:
            if not (_is_busy(error) and raw.in_transaction):
                raise
            await self._retry(raw.commit, error, in_transaction=True)
        self._ended(wrote)

    async def rollback(self) -> None:
        wrote = self._wrote()
        try:
            self._raw.rollback()
        finally:
            self._ended(wrote)

    async def create_function(
        self, name: str, num_params: int, func: Callable[..., Any], *, deterministic: bool = False
    ) -> None:
        self._raw.create_function(name, num_params, func, deterministic=deterministic)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now, from any thread and without a loop (SQLAlchemy's forced terminate)."""
        if self._connection is not None:
            wrote = self._wrote()
            self._connection = None
            try:
                self._raw.close()
            finally:
                self._ended(wrote)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- waiting for locks -------------------------------------------------------------------

    def _may_retry(self, error: OperationalError, was_in_transaction: bool, sql: str) -> bool:
        """Whether a statement that failed with `error` did nothing and may simply run again.

        True for SQLITE_BUSY when the connection held no lock before it (outside a transaction,
        or first statement after a lock-free BEGIN) and SQLite neither opened nor rolled back a
        transaction meanwhile; and for a busy COMMIT, which SQLite leaves open to be retried.
        """
        if not _is_busy(error) or self._raw.in_transaction != was_in_transaction:
            return False
        return not was_in_transaction or self._unlocked_transaction or _is_commit(sql)

    def _note_success(self, was_in_transaction: bool, sql: str) -> None:
        raw = self._raw
        if not raw.in_transaction:
            self._unlocked_transaction = False
            if was_in_transaction:  # a COMMIT or ROLLBACK statement
                self._ended(True)
        elif was_in_transaction:
            self._unlocked_transaction = False
        else:
            unlocked = _begins_without_lock(sql)
            self._unlocked_transaction = unlocked
            self._began_writing = not unlocked
            self._changes_at_begin = raw.total_changes

    def _wrote(self) -> bool:
        """Whether the open transaction holds the write lock, as far as this connection can tell
        (a deferred one that took the lock and changed nothing is missed: its waiters poll)."""
        return self._raw.in_transaction and (
            self._began_writing or self._raw.total_changes != self._changes_at_begin
        )

    def _ended(self, wrote: bool) -> None:
        self._unlocked_transaction = False
        self._began_writing = False
        if wrote:
            self._waiters.wake()

    async def _retry(self, call: Callable[[], _T], error: OperationalError, *, in_transaction: bool) -> _T:
        """Call again until it stops failing with SQLITE_BUSY, or raise the last error once
        `timeout` has passed.

        Between attempts the coroutine sleeps, never blocks: the lock holder may be a coroutine of
        this very loop. It sleeps until a connection of this process to the same file ends a
        transaction, or for a growing interval (other processes' commits are seen only so).
        """
        deadline = time.monotonic() + self.timeout
        delay = FIRST_DELAY
        waiters = self._waiters
        while True:
            # Listen before trying: a release right after the failed try still wakes us.
            released = waiters.listen()
            try:
                try:
                    return call()
                except OperationalError as again:
                    if not _is_busy(again) or self._raw.in_transaction != in_transaction:
                        raise
                    error = again
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    error.add_note(f"kinfolk: waited {self.timeout:g} s for the lock")
                    raise error
                await _wait(released, min(delay, remaining))
            finally:
                waiters.forget(released)
            delay = min(delay * 2, MAX_DELAY)


class Cursor:
    """A sqlite3 cursor with aiosqlite's coroutine methods, run on the calling thread."""

    def __init__(self, connection: Connection, raw: sqlite3.Cursor) -> None:
        self._connection = connection
        self._raw = raw

    @property
    def description(self) -> Any:
        return self._raw.description

    @property
    def rowcount(self) -> int:
        return self._raw.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._raw.lastrowid

    @property
    def arraysize(self) -> int:
        return self._raw.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._raw.arraysize = value

    @property
    def connection(self) -> Connection:
        return self._connection

    async def execute(self, sql: str, parameters: _Parameters = ()) -> Self:
        connection = self._connection
        raw = self._raw
        was_in_transaction = connection._raw.in_transaction
        try:
            raw.execute(sql, parameters)
        except OperationalError as error:
            if not connection._may_retry(error, was_in_transaction, sql):
                raise
            await connection._retry(
                lambda: raw.execute(sql, parameters), error, in_transaction=was_in_transaction
            )
        connection._note_success(was_in_transaction, sql)
        return self

    async def executemany(self, sql: str, parameters: Iterable[_Parameters]) -> Self:
        """Retried only as the first statement of a lock-free transaction: in autocommit mode
        each row commits on its own, and a busy row may come after rows already written."""
        connection = self._connection
        raw = self._raw
        rows = list(parameters)  # a retry needs them again; an iterator would be spent
        was_in_transaction = connection._raw.in_transaction
        try:
            raw.executemany(sql, rows)
        except OperationalError as error:
            if not (was_in_transaction and connection._may_retry(error, was_in_transaction, sql)):
                raise
            await connection._retry(lambda: raw.executemany(sql, rows), error, in_transaction=True)
        connection._note_success(was_in_transaction, sql)
        return self

    async def fetchone(self) -> Any:
        return self._raw.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._raw.fetchmany(self._raw.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._raw.fetchall()

    async def close(self) -> None:
        self._raw.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := self._raw.fetchone()) is not None:
            yield row


async def connect(
    database: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    isolation_level: _IsolationLevel = None,
    check_same_thread: bool = False,
    **kwargs: Any,
) -> Connection:
    """Open `database` with sqlite3's busy timeout at 0; `timeout` is how long a statement waits
    for a lock, asynchronously.

    `isolation_level=None` (sqlite3 issues no implicit BEGIN: Kinfolk begins its transactions
    itself) and `check_same_thread=False` are the defaults; `check_same_thread` is accepted for
    sqlite3's signature but ignored, because the pool may close a connection from another thread.
    """
    del check_same_thread
    raw = sqlite3.connect(
        database, timeout=0, isolation_level=isolation_level, check_same_thread=False, **kwargs
    )
    return Connection(raw, database, timeout)


# -- SQLAlchemy --------------------------------------------------------------------------------


class _AdaptedCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _aenter_cursor(self, cursor: Any) -> Any:
        # Our cursors need no entering: skip a round trip through the event loop per statement.
        return cursor


class _AdaptedServerSideCursor(AsyncAdapt_aiosqlite_ss_cursor):
    __slots__ = ()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, minus its trip through aiosqlite's thread queue
    to set `isolation_level`: here sqlite3 may be called directly."""

    __slots__ = ()

    _cursor_cls = _AdaptedCursor
    _ss_cursor_cls = _AdaptedServerSideCursor

    @property
    def isolation_level(self) -> str | None:
        level: str | None = self._connection.isolation_level
        return level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DB-API shim, opening this module's connections."""

    def connect(self, *arg: Any, **kw: Any) -> _AdaptedConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        opening = creator_fn(*arg, **kw) if creator_fn else connect(*arg, **kw)
        return _AdaptedConnection(self, await_(opening))


@cache
def sqlalchemy_module() -> AsyncAdapt_aiosqlite_dbapi:
    """What `create_async_engine("sqlite+aiosqlite://...", module=...)` takes to use this driver."""
    return _DBAPI(sys.modules[__name__], sqlite3)
