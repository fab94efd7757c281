"""What a job handler is given: the container, its unit of work, and which attempt this is.

The handler's DB work and the job's completion commit together in `uow`, so a job whose only
effect is in the database either happened exactly once or not at all.

On SQLite the unit of work starts lazily and takes the write lock (`BEGIN IMMEDIATE`) at its
first statement, holding it until the commit at the end of the handler. A handler that talks
to the network should therefore do so before touching `ctx.uow`, or open its own short
`ctx.container.db.uow()` for reads, so that a slow remote server never blocks every writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self
from weakref import WeakKeyDictionary

from kinfolk.db.database import Database, UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from kinfolk.container import Container


@dataclass(frozen=True)
class JobContext:
    container: Container
    uow: UnitOfWork
    job_id: int
    kind: str
    queue: str
    # 1 on the first run; counts every claim, including ones whose worker died.
    attempt: int
    max_attempts: int
    worker_id: str

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


_IMMEDIATE_ENGINES: WeakKeyDictionary[Database, AsyncEngine] = WeakKeyDictionary()


def _immediate_engine(db: Database) -> AsyncEngine:
    engine = _IMMEDIATE_ENGINES.get(db)
    if engine is None:
        engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
        _IMMEDIATE_ENGINES[db] = engine
    return engine


class JobUnitOfWork(UnitOfWork):
    """A write unit of work that begins at its first statement instead of on entry.

    The plain unit of work takes SQLite's write lock as soon as it is entered; a job may spend
    seconds on the network first, and must not hold the lock meanwhile.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(db, write=True)
        if db.is_sqlite:
            self.session = db.sessionmaker(bind=_immediate_engine(db))

    async def __aenter__(self) -> Self:
        return self
