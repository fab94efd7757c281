"""Fixtures for filter tests: posting statuses through the real posting service."""

from __future__ import annotations

from typing import Any

import pytest

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.statuses.service import PostParams, post_status
from kinfolk.domain.statuses.service import reblog as reblog_status


@pytest.fixture
def post(container: Container):  # type: ignore[no-untyped-def]
    """`await post(user, "text", spoiler_text=..., visibility=...)` creates a status and returns it."""

    async def factory(user: Any, text: str, **params: Any) -> Status:
        async with container.db.uow() as uow:
            account = await uow.session.get(Account, user.account_id)
            row = await uow.session.get(User, user.user_id)
            assert account is not None
            posted = await post_status(uow, container.settings, account, row, PostParams(text=text, **params))
            return posted.status

    return factory


@pytest.fixture
def boost(container: Container):  # type: ignore[no-untyped-def]
    async def factory(user: Any, status_id: int) -> Status:
        async with container.db.uow() as uow:
            account = await uow.session.get(Account, user.account_id)
            assert account is not None
            return await reblog_status(uow, container.settings, account, status_id)

    return factory


@pytest.fixture
def count_selects(container: Container):  # type: ignore[no-untyped-def]
    """`async with count_selects() as seen:` collects the SELECT statements run inside the block."""
    from contextlib import asynccontextmanager

    from sqlalchemy import event

    @asynccontextmanager
    async def counter():  # type: ignore[no-untyped-def]
        seen: list[str] = []

        def listener(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append(statement)

        engine = container.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", listener)

    return counter
