"""`INSERT ... ON CONFLICT` for whichever database the session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An insert construct supporting `.on_conflict_do_nothing()` on both SQLite and PostgreSQL."""
    bind = session.bind
    name = bind.dialect.name if bind is not None else "sqlite"
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
