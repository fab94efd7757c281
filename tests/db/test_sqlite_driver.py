"""The in-house SQLite driver: statements on the loop's thread, lock waits that never block it.

A blocking wait for SQLite's write lock on the event loop's thread would stall every request,
and deadlock when the holder is a coroutine of the same loop; these tests pin down that waits
are asynchronous, whoever holds the lock (this loop, another thread's loop, another process),
and that they give up at the deadline.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import event, text

from kinfolk.db import database, sqlite_driver
from kinfolk.db.database import Database


@pytest.fixture
def path(tmp_path: Path) -> str:
    """A WAL database with one table `t(x)`."""
    file = str(tmp_path / "driver.sqlite3")
    conn = sqlite3.connect(file, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    return file


@pytest.fixture
async def db(path: str) -> AsyncIterator[Database]:
    d = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield d
    finally:
        await d.dispose()


def _rows(path: str) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")]
    finally:
        conn.close()


class Ticker:
    """A coroutine that notes the time every 10 ms: gaps show when the loop was blocked."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def longest_gap(self) -> float:
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False))


async def _within(seconds: float, awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, seconds)


def _hold_lock_in_thread(
    path: str, seconds: float, hold: Callable[[Database], Awaitable[None]] | None = None
) -> tuple[threading.Thread, threading.Event]:
    """A writer on its own thread and event loop, with its own Database, like Kinfolk's job
    worker: it takes the write lock, signals, keeps the lock `seconds`, then commits."""
    locked = threading.Event()

    async def main() -> None:
        other = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with other.uow() as uow:
                await uow.session.execute(text("INSERT INTO t VALUES (1)"))
                locked.set()
                await asyncio.sleep(seconds)
        finally:
            await other.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(main()), name="other-loop")
    thread.start()
    assert locked.wait(10)
    return thread, locked


async def test_statements_run_on_the_calling_thread(db: Database) -> None:
    @event.listens_for(db.engine.sync_engine, "connect")
    def _add_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_ident", 0, threading.get_ident)

    async with db.uow(write=False) as uow:
        ident = (await uow.session.execute(text("SELECT thread_ident()"))).scalar_one()
    assert ident == threading.get_ident()


async def test_sqlite_never_waits_for_a_lock_itself(db: Database) -> None:
    """SQLite's busy handler would wait inside the library, i.e. on the loop's thread."""
    async with db.uow(write=False) as uow:
        busy_timeout = (await uow.session.execute(text("PRAGMA busy_timeout"))).scalar_one()
        journal_mode = (await uow.session.execute(text("PRAGMA journal_mode"))).scalar_one()
    assert busy_timeout == 0
    assert journal_mode == "wal"


async def test_two_writers_in_one_loop_both_complete(db: Database, path: str) -> None:
    """The second writer's BEGIN IMMEDIATE finds the lock taken by the first, which can only
    reach its COMMIT if the loop keeps running while the second waits."""
    events: list[str] = []

    async def writer(value: int, pause: float) -> None:
        async with db.uow() as uow:
            events.append(f"begun {value}")
            await uow.session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            await asyncio.sleep(pause)
        events.append(f"committed {value}")

    first = asyncio.create_task(writer(1, 0.5))
    await asyncio.sleep(0.05)  # the first holds the lock, sleeping
    with Ticker() as ticker:
        await _within(10, asyncio.gather(first, writer(2, 0)))
    assert events == ["begun 1", "committed 1", "begun 2", "committed 2"]
    assert _rows(path) == [1, 2]
    assert ticker.longest_gap < 0.25


async def test_many_writers_in_one_loop_all_complete(db: Database, path: str) -> None:
    """More writers than pooled connections, each yielding while it holds the lock."""

    async def writer(value: int) -> None:
        async with db.uow() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            await asyncio.sleep(0.005)

    await _within(20, asyncio.gather(*(writer(i) for i in range(30))))
    assert _rows(path) == list(range(30))


async def test_a_writer_in_another_thread_makes_this_loop_wait_without_blocking_it(
    db: Database, path: str
) -> None:
    thread, _ = _hold_lock_in_thread(path, 0.5)
    try:
        with Ticker() as ticker:
            started = time.monotonic()
            async with db.uow() as uow:
                waited = time.monotonic() - started
                await uow.session.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        thread.join(10)
    assert waited > 0.3
    assert len(ticker.ticks) >= 10
    assert ticker.longest_gap < 0.25
    assert _rows(path) == [1, 2]


async def test_a_commit_in_this_process_wakes_the_waiters_at_once(
    db: Database, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the polling interval made 10 s, only the wake-up can end the wait in time."""
    monkeypatch.setattr(sqlite_driver, "FIRST_DELAY", 10.0)
    monkeypatch.setattr(sqlite_driver, "MAX_DELAY", 10.0)
    thread, _ = _hold_lock_in_thread(path, 0.3)
    try:
        started = time.monotonic()
        async with db.uow() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES (2)"))
        assert time.monotonic() - started < 3
    finally:
        thread.join(10)

    async def writer(value: int, pause: float) -> None:
        async with db.uow() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            await asyncio.sleep(pause)

    started = time.monotonic()
    await _within(8, asyncio.gather(writer(3, 0.3), writer(4, 0), writer(5, 0)))
    assert time.monotonic() - started < 3
    assert _rows(path) == [1, 2, 3, 4, 5]


_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO t VALUES (1)")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


async def test_a_writer_in_another_process_makes_this_loop_wait_without_blocking_it(
    db: Database, path: str
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, path, "0.5"], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with Ticker() as ticker:
            started = time.monotonic()
            async with db.uow() as uow:
                waited = time.monotonic() - started
                await uow.session.execute(text("INSERT INTO t VALUES (2)"))
    assert holder.returncode == 0
    assert waited > 0.3
    assert ticker.longest_gap < 0.25
    assert _rows(path) == [1, 2]


async def test_readers_do_not_wait_for_a_writer(db: Database, path: str) -> None:
    thread, _ = _hold_lock_in_thread(path, 1.0)
    try:
        started = time.monotonic()
        async with db.uow(write=False) as uow:
            count = (await uow.session.execute(text("SELECT count(*) FROM t"))).scalar_one()
        assert time.monotonic() - started < 0.5
        assert count == 0  # the writer has not committed yet
    finally:
        thread.join(10)


async def test_the_wait_gives_up_at_the_deadline(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_LOCK_TIMEOUT", 0.5)
    db = Database(f"sqlite+aiosqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Ticker() as ticker:
            started = time.monotonic()
            with pytest.raises(sqlalchemy.exc.OperationalError, match="database is locked"):
                async with db.uow():
                    pass
            waited = time.monotonic() - started
        assert 0.5 <= waited < 3
        assert ticker.longest_gap < 0.25
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await db.dispose()


async def test_the_driver_raises_sqlite3_errors_after_its_timeout(path: str) -> None:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    conn = await sqlite_driver.connect(path, timeout=0.1)
    try:
        with pytest.raises(sqlite_driver.OperationalError, match="database is locked") as raised:
            await conn.execute("BEGIN IMMEDIATE")
        assert raised.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
        assert not conn.in_transaction
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await conn.close()


async def test_a_first_write_after_a_deferred_begin_waits(path: str) -> None:
    """BEGIN DEFERRED takes no lock: a busy first statement did nothing and may run again."""
    thread, _ = _hold_lock_in_thread(path, 0.2)
    conn = await sqlite_driver.connect(path, timeout=5)
    try:
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO t VALUES (2)")
        await conn.commit()
    finally:
        await conn.close()
        thread.join(10)
    assert _rows(path) == [1, 2]


async def test_a_reader_upgrading_to_a_writer_fails_at_once(path: str) -> None:
    """After a read the transaction holds a snapshot: SQLite does not wait there, nor do we
    (retrying could not help while the snapshot is older than the writer's commit)."""
    conn = await sqlite_driver.connect(path, timeout=5)
    try:
        await conn.execute("BEGIN")
        await (await conn.execute("SELECT count(*) FROM t")).fetchall()
        thread, _ = _hold_lock_in_thread(path, 1.0)
        try:
            started = time.monotonic()
            with pytest.raises(sqlite_driver.OperationalError, match="database is locked"):
                await conn.execute("INSERT INTO t VALUES (2)")
            assert time.monotonic() - started < 0.5
            await conn.rollback()
        finally:
            thread.join(10)
    finally:
        await conn.close()
    assert _rows(path) == [1]


async def test_a_busy_commit_is_retried(tmp_path: Path) -> None:
    """In rollback-journal mode a COMMIT waits for readers to finish (not so in WAL mode, where
    Kinfolk runs, but the driver must not block there either)."""
    file = str(tmp_path / "journal.sqlite3")
    setup = sqlite3.connect(file, isolation_level=None)
    setup.execute("PRAGMA journal_mode=DELETE")
    setup.execute("CREATE TABLE t (x INTEGER)")
    setup.execute("INSERT INTO t VALUES (1)")
    setup.close()

    reader = sqlite3.connect(file, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # holds a SHARED lock until its transaction ends
    conn = await sqlite_driver.connect(file, timeout=5)
    try:
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute("INSERT INTO t VALUES (2)")
        asyncio.get_running_loop().call_later(0.5, reader.execute, "COMMIT")
        with Ticker() as ticker:
            started = time.monotonic()
            await conn.commit()
        assert time.monotonic() - started > 0.4
        assert ticker.longest_gap < 0.25
        assert not conn.in_transaction
    finally:
        await conn.close()
        reader.close()
    assert _rows(file) == [1, 2]


async def test_cursor_api(path: str) -> None:
    async with await sqlite_driver.connect(path) as conn:
        cursor = await conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        assert cursor.rowcount == 3
        cursor = await conn.execute("INSERT INTO t VALUES (?)", (4,))
        assert cursor.lastrowid == 4
        async with conn.cursor() as cursor:
            await cursor.execute("SELECT x FROM t ORDER BY x")
            assert cursor.description[0][0] == "x"
            assert await cursor.fetchone() == (1,)
            assert await cursor.fetchmany(2) == [(2,), (3,)]
            assert await cursor.fetchall() == [(4,)]
        cursor = await conn.execute("SELECT x FROM t WHERE x > :low ORDER BY x", {"low": 2})
        assert [row async for row in cursor] == [(3,), (4,)]


async def test_streamed_results_use_server_side_cursors(db: Database) -> None:
    async with db.uow() as uow:
        for value in range(5):
            await uow.session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
    async with db.uow(write=False) as uow:
        result = await uow.session.stream(text("SELECT x FROM t ORDER BY x"))
        assert [row.x async for row in result] == [0, 1, 2, 3, 4]


async def test_a_failed_unit_of_work_releases_the_lock_for_the_next(db: Database, path: str) -> None:
    with pytest.raises(RuntimeError):
        async with db.uow() as uow:
            await uow.session.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    async with db.uow() as uow:
        await uow.session.execute(text("INSERT INTO t VALUES (2)"))
    assert _rows(path) == [2]
