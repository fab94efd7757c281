"""The job's unit of work on SQLite: no write lock until the handler's first statement."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from kinfolk.container import Container
from kinfolk.jobs.context import JobUnitOfWork


def _can_take_write_lock(path: str) -> bool:
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_write_lock_is_taken_at_first_statement_not_on_entry(container: Container, db_url: str) -> None:
    path = db_url.split(":///", 1)[1]

    async with JobUnitOfWork(container.db) as uow:
        assert _can_take_write_lock(path)
        await uow.session.execute(text("SELECT 1"))
        assert not _can_take_write_lock(path)

    assert _can_take_write_lock(path)
