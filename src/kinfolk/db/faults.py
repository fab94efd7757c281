"""Which unexpected exceptions are faults of the machine rather than bugs, and what they answer.

A request that meets a database restarting or a full disk is not the server's error in the
sense of a 500: the client may try again once the fault is gone. So the API renders

- the database unreachable or its connection lost mid-request (PostgreSQL restarting, a pool
  connection killed, the connect refused, the pool exhausted) as 503 with `Retry-After`;
- no space left (ENOSPC while writing a file, SQLite's SQLITE_FULL, PostgreSQL's
  disk_full 53100) as 507 Insufficient Storage.

The exception arrives wrapped (SQLAlchemy's DBAPIError around the driver's error, or chained
through `__cause__`/`__context__`), so the chain is walked.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from typing import Literal

from sqlalchemy import exc as sa_exc

Fault = Literal["unavailable", "storage_full"]

# PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (admin/crash shutdown,
# cannot connect now), 53300 too many connections; 53100 disk full.
_PG_UNAVAILABLE_PREFIXES = ("08", "57P0", "53300")
_PG_DISK_FULL = "53100"
_CONNECTION_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ENOTCONN,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend((getattr(item, "orig", None), item.__cause__, item.__context__))


def classify(exc: BaseException) -> Fault | None:
    """`storage_full`, `unavailable`, or None for an ordinary error (a bug: 500)."""
    found: Fault | None = None
    for item in _chain(exc):
        if _is_storage_full(item):
            return "storage_full"
        if found is None and _is_unavailable(item):
            found = "unavailable"
    return found


def _is_storage_full(item: BaseException) -> bool:
    if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(item, sqlite3.Error):
        code = getattr(item, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == sqlite3.SQLITE_FULL:
            return True
        return "database or disk is full" in str(item)
    return getattr(item, "sqlstate", None) == _PG_DISK_FULL


def _is_unavailable(item: BaseException) -> bool:
    if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
        return True
    if isinstance(item, sa_exc.InterfaceError | sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if isinstance(item, ConnectionError | TimeoutError):
        return True
    if isinstance(item, OSError) and item.errno in _CONNECTION_ERRNOS:
        return True
    sqlstate = getattr(item, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_PG_UNAVAILABLE_PREFIXES):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(
        item,
        asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.CannotConnectNowError
        # The server closed the connection while it sat idle in a pool (a restart): the
        # protocol's next operation finds it in the wrong state.
        | asyncpg.exceptions.InternalClientError
        | asyncpg.exceptions.ConnectionFailureError,
    )
