"""`notify` reads and writes past the ORM (prepared statements on the session's connection):
what the unit of work has not flushed yet must still count, and what it adds must be there for
the rest of the unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.notifications import service
from kinfolk.domain.notifications.models import Notification, NotificationPolicy
from kinfolk.domain.relationships.models import Block, Follow


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def test_unflushed_changes_count(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    async with container.db.uow() as uow:
        uow.session.add(Block(account_id=alice.account_id, target_account_id=bob.account_id))
        blocked = await service.notify(
            uow, type="follow", recipient_id=alice.account_id, from_account_id=bob.account_id
        )
    assert blocked is None
    carol = await make_user("carol")
    async with container.db.uow() as uow:
        uow.session.add(NotificationPolicy(account_id=carol.account_id, for_not_following="drop"))
        dropped = await service.notify(
            uow, type="mention", recipient_id=carol.account_id, from_account_id=alice.account_id
        )
        uow.session.add(Follow(account_id=carol.account_id, target_account_id=alice.account_id))
        followed = await service.notify(
            uow, type="mention", recipient_id=carol.account_id, from_account_id=alice.account_id
        )
    assert dropped is None
    assert followed is not None and not followed.filtered


async def test_the_notification_is_there_for_the_rest_of_the_unit_of_work(
    container: Container, make_user
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    async with container.db.uow() as uow:
        added = await service.notify(
            uow, type="follow", recipient_id=alice.account_id, from_account_id=bob.account_id
        )
        assert added is not None
        loaded = await uow.session.get(Notification, added.id)
        assert loaded is not None
        assert (loaded.type, loaded.group_key, loaded.filtered) == ("follow", added.group_key, False)
        assert loaded.created_at == added.created_at
        count = (await uow.session.execute(select(func.count()).select_from(Notification))).scalar_one()
        assert count == 1
