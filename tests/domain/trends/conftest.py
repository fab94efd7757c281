"""Posting statuses (optionally back-dated) through the real posting service."""

from __future__ import annotations

from typing import Any

import pytest

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.statuses.service import PostParams, post_status


@pytest.fixture
def post(container: Container):  # type: ignore[no-untyped-def]
    """`await post(user, "text", created_at=..., visibility=...)` creates a status and returns it."""

    async def factory(user: Any, text: str, *, created_at: Any = None, **params: Any) -> Status:
        async with container.db.uow() as uow:
            account = await uow.session.get(Account, user.account_id)
            row = await uow.session.get(User, user.user_id)
            assert account is not None
            posted = await post_status(
                uow, container.settings, account, row, PostParams(text=text, **params), created_at=created_at
            )
            return posted.status

    return factory
