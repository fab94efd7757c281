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

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from weakref import WeakKeyDictionary

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


# -- typed results ----------------------------------------------------------------------------

_ResultProcessor = Callable[[Any], Any] | None
# Per prepared statement, per dialect: one result processor per column (None: keep the value).
_result_processors: WeakKeyDictionary[Prepared, dict[str, list[_ResultProcessor]]] = WeakKeyDictionary()


def result_processors(prepared: Prepared, dialect: Dialect) -> list[_ResultProcessor]:
    """The processors SQLAlchemy itself would apply to each column `prepared` returns.

    The driver's raw values differ between databases (SQLite gives 0/1 for booleans and text
    for dates and JSON; asyncpg gives Python values): these turn both into what the columns'
    types promise, as a `Result` would, without the cost of building one."""
    by_dialect = _result_processors.setdefault(prepared, {})
    found = by_dialect.get(dialect.name)
    if found is None:
        compiled: Any = prepared.statement.compile(dialect=dialect)
        found = [entry.type._cached_result_processor(dialect, None) for entry in compiled._result_columns]
        by_dialect[dialect.name] = found
    return found


async def run_typed_in(session: AsyncSession, prepared: Prepared, values: Mapping[str, Any]) -> list[Row]:
    """`run_in`, with each value converted by its column's type (booleans, dates, JSON)."""
    rows = await run_in(session, prepared, values)
    if not rows:
        return rows
    processors = result_processors(prepared, session.get_bind().dialect)
    if len(processors) != len(rows[0]):
        raise ValueError(f"{len(rows[0])} columns returned, {len(processors)} typed")
    return [tuple(_processed(processors, row)) for row in rows]


def _processed(processors: list[_ResultProcessor], row: Row) -> Iterator[Any]:
    for process, value in zip(processors, row, strict=True):
        yield value if process is None else process(value)
