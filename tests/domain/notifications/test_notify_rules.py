"""`notify`'s rules on their own: who is never notified, staff mentions, grouping, listeners."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications import service
from kinfolk.domain.notifications.models import Notification, NotificationPolicy
from kinfolk.domain.relationships.models import Block, Mute
from kinfolk.kernel.clock import utcnow


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _notify(container: Container, **kwargs: Any) -> Notification | None:
    async with container.db.uow() as uow:
        return await service.notify(uow, **kwargs)


async def test_who_is_never_notified(container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    # Oneself, except for polls.
    assert (
        await _notify(
            container, type="follow", recipient_id=alice.account_id, from_account_id=alice.account_id
        )
        is None
    )
    assert await _notify(
        container, type="poll", recipient_id=alice.account_id, from_account_id=alice.account_id
    )
    async with container.db.uow() as uow:
        uow.session.add(Block(account_id=alice.account_id, target_account_id=bob.account_id))
        uow.session.add(
            Mute(account_id=alice.account_id, target_account_id=carol.account_id, hide_notifications=True)
        )
    assert (
        await _notify(container, type="follow", recipient_id=alice.account_id, from_account_id=bob.account_id)
        is None
    )
    assert (
        await _notify(container, type="follow", recipient_id=bob.account_id, from_account_id=alice.account_id)
        is None
    )
    assert (
        await _notify(
            container, type="follow", recipient_id=alice.account_id, from_account_id=carol.account_id
        )
        is None
    )
    # A suspended recipient gets nothing.
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == carol.account_id).values(suspended_at=utcnow())
        )
    assert (
        await _notify(container, type="follow", recipient_id=carol.account_id, from_account_id=bob.account_id)
        is None
    )


async def test_staff_mentions_pass_mutes_and_the_policy(container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    admin = await make_user("admin", role="admin")
    async with container.db.uow() as uow:
        uow.session.add(
            Mute(account_id=alice.account_id, target_account_id=admin.account_id, hide_notifications=True)
        )
    mention = await _notify(
        container, type="mention", recipient_id=alice.account_id, from_account_id=admin.account_id
    )
    assert mention is not None
    follow = await _notify(
        container, type="follow", recipient_id=alice.account_id, from_account_id=admin.account_id
    )
    assert follow is None  # only mentions from staff skip the mute


async def test_follows_group_within_a_window(container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    others = [await make_user(f"user{i}") for i in range(3)]
    keys = set()
    for other in others:
        added = await _notify(
            container, type="follow", recipient_id=alice.account_id, from_account_id=other.account_id
        )
        assert added is not None
        keys.add(added.group_key)
    assert len(keys) == 1 and next(iter(keys)).startswith("follow-")
    mention = await _notify(
        container, type="mention", recipient_id=alice.account_id, from_account_id=others[0].account_id
    )
    assert mention is not None and mention.group_key == f"ungrouped-{mention.id}"


async def test_listeners_hear_only_unfiltered_notifications(container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    heard: list[str] = []

    async def listener(uow: UnitOfWork, notification: Notification) -> None:
        heard.append(notification.type)

    service.on_notification(listener)
    try:
        await _notify(container, type="follow", recipient_id=alice.account_id, from_account_id=bob.account_id)
        async with container.db.uow() as uow:
            uow.session.add(NotificationPolicy(account_id=alice.account_id, for_not_following="filter"))
        filtered = await _notify(
            container, type="mention", recipient_id=alice.account_id, from_account_id=bob.account_id
        )
        assert filtered is not None and filtered.filtered
    finally:
        service._listeners.remove(listener)
    assert heard == ["follow"]
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(Notification.type, Notification.filtered))).all()
    assert sorted((t, bool(f)) for t, f in rows) == [("follow", False), ("mention", True)]


async def test_groups_span_at_most_twelve_hours(container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    hour = int(utcnow().timestamp()) // 3600
    async with container.db.uow() as uow:
        uow.session.add(
            Notification(
                account_id=alice.account_id,
                from_account_id=bob.account_id,
                type="follow",
                group_key=f"follow-{hour - 11}",
            )
        )
        uow.session.add(
            Notification(
                account_id=bob.account_id,
                from_account_id=alice.account_id,
                type="follow",
                group_key=f"follow-{hour - 12}",
            )
        )
    joined = await _notify(
        container, type="follow", recipient_id=alice.account_id, from_account_id=carol.account_id
    )
    fresh = await _notify(
        container, type="follow", recipient_id=bob.account_id, from_account_id=carol.account_id
    )
    assert joined is not None and joined.group_key == f"follow-{hour - 11}"
    assert fresh is not None and fresh.group_key == f"follow-{hour}"


async def test_a_private_mention_from_staff_is_not_filtered(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    admin = await make_user("admin", role="admin")
    stranger = await make_user("stranger")
    for sender in (admin, stranger):
        response = await client.post(
            "/api/v1/statuses",
            data={"status": "@alice hello", "visibility": "direct"},
            headers=sender.headers,
        )
        assert response.status_code == 200
    await drain_jobs()
    shown = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    # The stranger's private mention waits behind the default policy; staff's reaches her.
    assert [n["account"]["username"] for n in shown] == ["admin"]
