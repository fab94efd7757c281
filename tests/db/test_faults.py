"""Which errors are faults of the machine (db/faults.classify): produced for real, not built."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from kinfolk.db.faults import classify


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_full_sqlite_database_is_storage_full() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x TEXT)")
    connection.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as caught:
        for _ in range(100):
            connection.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
    assert classify(caught.value) == "storage_full"


def test_enospc_is_storage_full_even_when_chained() -> None:
    with pytest.raises(OSError) as caught, open("/dev/full", "wb", buffering=0) as full:
        full.write(b"x")
    try:
        raise RuntimeError("storing the upload failed") from caught.value
    except RuntimeError as wrapped:
        assert classify(wrapped) == "storage_full"


async def test_an_unreachable_postgresql_through_sqlalchemy_is_unavailable() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/x")
    try:
        with pytest.raises(Exception) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert classify(caught.value) == "unavailable"


def test_ordinary_errors_are_not_faults() -> None:
    assert classify(ValueError("bad")) is None
    assert classify(FileNotFoundError(2, "No such file")) is None
    connection = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as caught:
        connection.execute("SELECT * FROM missing")
    assert classify(caught.value) is None
