"""Core statements compiled once and run on the DBAPI cursor, for the hottest paths.

A SQLAlchemy `Result` and its row processing cost more than the SQL of a timeline page, and
building, caching and executing an ORM statement costs 0.3-1 ms, more than most of the SQL a
post's side effects run (bench/RESULTS.md). A `Prepared` statement is compiled once per
dialect; running it applies the bind processors (dates as each database stores them) and
returns the driver's own tuples, unprocessed: callers read ids, flags and equality-only values
from them. `db.reader` runs them outside any transaction; `run_in` inside a session's.
Statements must name every parameter with `bindparam` and use no expanding (IN-list)
parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

Row = tuple[Any, ...]
# A positional parameter: its name, its bind processor, the value the statement was built with.
_Param = tuple[str, Callable[[Any], Any] | None, Any]


class Prepared:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, tuple[str, list[_Param]]] = {}

    def _compiled(self, dialect: Dialect) -> tuple[str, list[_Param]]:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            # Literal IN lists compile to placeholders expanded at run time; expand them once.
            unset = {name: None for name, bind in compiled.binds.items() if bind.value is None}
            expanded = compiled.construct_expanded_state(unset)
            processors = compiled._bind_processors
            defaults = expanded.parameters
            order = expanded.positiontup or []
            found = (expanded.statement, [(n, processors.get(n), defaults.get(n)) for n in order])
            self._by_dialect[dialect.name] = found
        return found

    def bound(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """The SQL for `dialect` and its positional parameters. Parameters not in `values`
        take the value the statement was built with (a LIMIT's offset, a literal)."""
        sql, params = self._compiled(dialect)
        bound = []
        for name, process, default in params:
            value = values.get(name, default)
            bound.append(process(value) if process is not None and value is not None else value)
        return sql, tuple(bound)


async def run_in(session: AsyncSession, prepared: Prepared, values: Mapping[str, Any]) -> list[Row]:
    """Run `prepared` in `session`'s transaction, on its own connection, and return all rows.

    The session's identity map does not see what this writes: use it for rows the session does
    not hold (feed entries), or expire what it changed."""
    connection = await session.connection()
    sql, params = prepared.bound(connection.dialect, values)
    fairy = await connection.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    if connection.dialect.name == "sqlite":
        cursor = await adapted.driver_connection.execute(sql, params)
        return list(await cursor.fetchall())
    if adapted._transaction is None:
        # SQLAlchemy's asyncpg adapter begins lazily, on its first statement.
        await adapted._start_transaction()
    return list(await adapted.driver_connection.fetch(sql, *params))
