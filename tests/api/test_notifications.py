"""Notifications v1 through the HTTP API: listing, filters by type and sender, paging, single
ones, dismissal, clearing, unread counts, and what must never show."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, update

from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.notifications.service import notify
from kinfolk.domain.timelines.models import Marker


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _post(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _count(container: Container, **where: Any) -> int:
    async with container.db.uow(write=False) as uow:
        stmt = select(func.count()).select_from(Notification).filter_by(**where)
        return int((await uow.session.execute(stmt)).scalar_one())


async def _list(client: httpx.AsyncClient, user: Any, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/notifications{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def _mentions(
    client: httpx.AsyncClient, drain_jobs: Any, sender: Any, recipient: str, n: int
) -> list[str]:
    ids = []
    for i in range(n):
        ids.append((await _post(client, sender, status=f"@{recipient} number {i}"))["id"])
    await drain_jobs()
    return ids


async def test_mention_favourite_reblog_and_follow_notify(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    own = await _post(client, alice, status="my post")
    mention = await _post(client, bob, status="hello @alice")
    await drain_jobs()
    for action in ("favourite", "reblog"):
        assert (
            await client.post(f"/api/v1/statuses/{own['id']}/{action}", headers=bob.headers)
        ).status_code == 200
        await drain_jobs()
    assert (
        await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    ).status_code == 200

    body = await _list(client, alice)
    assert [n["type"] for n in body] == ["follow", "reblog", "favourite", "mention"]
    follow, reblog, favourite, mentioned = body
    assert list(mentioned) == ["id", "type", "created_at", "group_key", "account", "status"]
    assert mentioned["status"]["id"] == mention["id"]
    assert mentioned["account"]["id"] == str(bob.account_id)
    assert mentioned["group_key"] == f"ungrouped-{mentioned['id']}"
    assert favourite["status"]["id"] == own["id"] and reblog["status"]["id"] == own["id"]
    assert favourite["group_key"].startswith(f"favourite-{own['id']}-")
    assert follow["group_key"].startswith("follow-") and "status" not in follow
    # Bob sees none of Alice's notifications.
    assert await _list(client, bob) == []


async def test_undone_favourite_and_boost_take_their_notifications_back(
    client, make_user, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    """As Mastodon: the notification goes with the favourite or boost it was about, also when the
    action is undone before the job that notifies has run."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    own = await _post(client, alice, status="my post")
    for action in ("favourite", "reblog"):
        assert (
            await client.post(f"/api/v1/statuses/{own['id']}/{action}", headers=bob.headers)
        ).status_code == 200
    await drain_jobs()
    assert sorted(n["type"] for n in await _list(client, alice)) == ["favourite", "reblog"]
    for action in ("unfavourite", "unreblog"):
        assert (
            await client.post(f"/api/v1/statuses/{own['id']}/{action}", headers=bob.headers)
        ).status_code == 200
    await drain_jobs()
    assert await _list(client, alice) == []

    # Favourited and unfavourited before the worker ran: no notification appears afterwards.
    for action in ("favourite", "unfavourite"):
        assert (
            await client.post(f"/api/v1/statuses/{own['id']}/{action}", headers=bob.headers)
        ).status_code == 200
    await drain_jobs()
    assert await _list(client, alice) == []


async def test_follow_request_notifies_the_locked_account(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice", locked=True)
    bob = await make_user("bob")
    assert (
        await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    ).status_code == 200
    body = await _list(client, alice)
    assert [(n["type"], n["account"]["id"]) for n in body] == [("follow_request", str(bob.account_id))]


async def test_types_exclude_types_and_account_id(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    own = await _post(client, alice, status="post")
    await _post(client, bob, status="@alice hi")
    await client.post(f"/api/v1/statuses/{own['id']}/favourite", headers=carol.headers)
    await drain_jobs()
    await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)

    assert [n["type"] for n in await _list(client, alice, "?types[]=mention")] == ["mention"]
    assert [n["type"] for n in await _list(client, alice, "?types[]=mention&types[]=follow")] == [
        "follow",
        "mention",
    ]
    assert [
        n["type"] for n in await _list(client, alice, "?exclude_types[]=mention&exclude_types[]=follow")
    ] == ["favourite"]
    assert await _list(client, alice, "?types[]=mention&exclude_types[]=mention") == []
    # Unknown types are ignored; a list of only unknown types matches nothing.
    assert await _list(client, alice, "?types[]=nonsense") == []
    assert len(await _list(client, alice, "?exclude_types[]=nonsense")) == 3
    from_bob = await _list(client, alice, f"?account_id={bob.account_id}")
    assert {n["type"] for n in from_bob} == {"mention", "follow"}
    assert await _list(client, alice, "?account_id=abc") == []


async def test_paging_with_link_header(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _mentions(client, drain_jobs, bob, "alice", 5)
    everything = await _list(client, alice)
    ids = [n["id"] for n in everything]
    assert len(ids) == 5 and ids == sorted(ids, key=int, reverse=True)

    first = await client.get("/api/v1/notifications?limit=2&types[]=mention", headers=alice.headers)
    assert [n["id"] for n in first.json()] == ids[:2]
    link = first.headers["link"]
    assert f"max_id={ids[1]}" in link and f"min_id={ids[0]}" in link and "types%5B%5D=mention" in link
    assert link.startswith("<https://kinfolk.test/api/v1/notifications?")
    second = await client.get(f"/api/v1/notifications?limit=2&max_id={ids[1]}", headers=alice.headers)
    assert [n["id"] for n in second.json()] == ids[2:4]
    newer = await client.get(f"/api/v1/notifications?limit=2&min_id={ids[3]}", headers=alice.headers)
    assert [n["id"] for n in newer.json()] == ids[1:3]
    since = await client.get(f"/api/v1/notifications?limit=2&since_id={ids[3]}", headers=alice.headers)
    assert [n["id"] for n in since.json()] == ids[:2]
    empty = await client.get(f"/api/v1/notifications?max_id={ids[-1]}", headers=alice.headers)
    assert empty.json() == [] and "link" not in empty.headers
    assert (await client.get("/api/v1/notifications?max_id=abc", headers=alice.headers)).status_code == 400


async def test_show_dismiss_and_clear_are_scoped_to_the_owner(
    client, make_user, drain_jobs, container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _mentions(client, drain_jobs, bob, "alice", 2)
    await _mentions(client, drain_jobs, alice, "bob", 1)
    first, second = await _list(client, alice)
    (bobs,) = await _list(client, bob)

    shown = await client.get(f"/api/v1/notifications/{first['id']}", headers=alice.headers)
    assert shown.status_code == 200 and shown.json() == first
    for path in (
        f"/api/v1/notifications/{bobs['id']}",
        "/api/v1/notifications/nope",
        "/api/v1/notifications/9",
    ):
        response = await client.get(path, headers=alice.headers)
        assert response.status_code == 404 and response.json() == {"error": "Record not found"}

    stolen = await client.post(f"/api/v1/notifications/{bobs['id']}/dismiss", headers=alice.headers)
    assert stolen.status_code == 404
    assert await _count(container, account_id=bob.account_id) == 1

    dismissed = await client.post(f"/api/v1/notifications/{first['id']}/dismiss", headers=alice.headers)
    assert dismissed.status_code == 200 and dismissed.json() == {}
    assert [n["id"] for n in await _list(client, alice)] == [second["id"]]

    cleared = await client.post("/api/v1/notifications/clear", headers=alice.headers)
    assert cleared.status_code == 200 and cleared.json() == {}
    assert await _count(container, account_id=alice.account_id) == 0
    assert await _count(container, account_id=bob.account_id) == 1


async def test_scopes_and_tokens(client, make_user) -> None:  # type: ignore[no-untyped-def]
    reader = await make_user("reader", scopes="read")
    assert (await client.get("/api/v1/notifications")).status_code == 401
    assert (await client.get("/api/v1/notifications", headers=reader.headers)).status_code == 200
    denied = await client.post("/api/v1/notifications/clear", headers=reader.headers)
    assert denied.status_code == 403
    writer = await make_user("writer", scopes="write")
    assert (await client.get("/api/v1/notifications", headers=writer.headers)).status_code == 403


async def test_unread_count_follows_the_marker(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _mentions(client, drain_jobs, bob, "alice", 3)
    ids = [n["id"] for n in await _list(client, alice)]
    response = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
    assert response.status_code == 200 and response.json() == {"count": 3}
    async with container.db.uow() as uow:
        uow.session.add(
            Marker(account_id=alice.account_id, timeline="notifications", last_read_id=int(ids[1]))
        )
    assert (await client.get("/api/v1/notifications/unread_count", headers=alice.headers)).json() == {
        "count": 1
    }
    limited = await client.get("/api/v1/notifications/unread_count?limit=1", headers=alice.headers)
    assert limited.json() == {"count": 1}
    typed = await client.get("/api/v1/notifications/unread_count?types[]=follow", headers=alice.headers)
    assert typed.json() == {"count": 0}


async def test_hidden_when_status_deleted_or_sender_suspended_or_blocked(
    client, make_user, drain_jobs, container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    dave = await make_user("dave")
    from_bob = await _post(client, bob, status="@alice one")
    await _post(client, carol, status="@alice two")
    await _post(client, dave, status="@alice three")
    await drain_jobs()
    assert len(await _list(client, alice)) == 3

    assert (await client.delete(f"/api/v1/statuses/{from_bob['id']}", headers=bob.headers)).status_code == 200
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == carol.account_id).values(suspended_at=func.now())
        )
    assert (
        await client.post(f"/api/v1/accounts/{dave.account_id}/block", headers=alice.headers)
    ).status_code == 200
    assert await _list(client, alice) == []
    assert (await client.get("/api/v1/notifications/unread_count", headers=alice.headers)).json() == {
        "count": 0
    }


async def test_page_renders_in_a_fixed_number_of_queries(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    senders = [await make_user(f"user{i}") for i in range(3)]
    own = await _post(
        client,
        alice,
        status="post with a poll",
        **{"poll[options][]": ["a", "b"], "poll[expires_in]": "3600"},
    )

    async def add(n: int) -> None:
        async with container.db.uow() as uow:
            for i in range(n):
                sender = senders[i % len(senders)]
                await notify(
                    uow, type="follow", recipient_id=alice.account_id, from_account_id=sender.account_id
                )
                await notify(
                    uow,
                    type="favourite",
                    recipient_id=alice.account_id,
                    from_account_id=sender.account_id,
                    status_id=int(own["id"]),
                )

    async def queries_for(limit: int) -> int:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(container.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(f"/api/v1/notifications?limit={limit}", headers=alice.headers)
        finally:
            event.remove(container.db.engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200 and len(response.json()) == limit
        return len(statements)

    await add(1)
    one = await queries_for(1)
    await add(10)
    assert await queries_for(20) == one
