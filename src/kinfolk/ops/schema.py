"""Is the database there, and migrated? Asked before operator commands touch it.

A command run against a database that was never migrated would otherwise fail deep inside
with "no such table" (SQLite) or "relation ... does not exist" (PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from kinfolk.db.migrate import alembic_config

MIGRATE_HINT = "run `kinfolk migrate` first"


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]  # revisions in alembic_version (empty: never migrated)
    heads: tuple[str, ...]  # the code's newest revisions

    @property
    def migrated(self) -> bool:
        return bool(self.current) and set(self.current) == set(self.heads)

    def describe(self) -> str:
        if not self.current:
            return "the database was never migrated"
        if self.migrated:
            return f"migrated to {', '.join(self.current)} (head)"
        return f"the database is at {', '.join(self.current)}, the code's head is {', '.join(self.heads)}"


def head_revisions(url: str) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Raises SQLAlchemy's error when the database cannot be reached at all."""
    heads = head_revisions(engine.url.render_as_string(hide_password=False))
    async with engine.connect() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        except DBAPIError as exc:
            if not is_missing_table(exc):
                raise
            return SchemaState((), heads)
    return SchemaState(tuple(row[0] for row in rows), heads)


def is_missing_table(exc: BaseException) -> bool:
    """SQLite's "no such table", PostgreSQL's "relation ... does not exist"."""
    message = str(exc).lower()
    return isinstance(exc, SQLAlchemyError) and (
        "no such table" in message or ("relation" in message and "does not exist" in message)
    )


def owner_exists(url: str) -> bool:
    """Whether an owner account exists yet (the banner's "create the first admin" hint shows
    until one does). Blocking: called at start-up before the event loop runs. An unreadable
    database counts as no owner."""
    import asyncio

    from kinfolk.db.database import make_engine

    async def ask() -> bool:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                found = await conn.execute(text("SELECT 1 FROM users WHERE role = 'owner' LIMIT 1"))
                return found.first() is not None
        except SQLAlchemyError:
            return False
        finally:
            await engine.dispose()

    return asyncio.run(ask())
