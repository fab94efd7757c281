"""Grouped notifications (v2): groups, their counts and sample accounts, paging by group,
single groups, their accounts, dismissal, unread counts, and a fixed number of queries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.notifications.service import notify


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _post(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _grouped(client: httpx.AsyncClient, user: Any, query: str = "") -> httpx.Response:
    response = await client.get(f"/api/v2/notifications{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response


async def _favourited_by(
    client: httpx.AsyncClient, drain_jobs: Any, status_id: str, users: list[Any]
) -> None:
    for user in users:
        assert (
            await client.post(f"/api/v1/statuses/{status_id}/favourite", headers=user.headers)
        ).status_code == 200
    await drain_jobs()


async def test_favourites_of_one_status_form_one_group(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob, carol = await make_user("bob"), await make_user("carol")
    own = await _post(client, alice, status="Testing grouped notifications!")
    await _favourited_by(client, drain_jobs, own["id"], [bob, carol])
    mention = await _post(client, bob, status="@alice hey")
    await drain_jobs()

    body = (await _grouped(client, alice)).json()
    assert list(body) == ["accounts", "statuses", "notification_groups"]
    mentioned, favourites = body["notification_groups"]
    assert mentioned["type"] == "mention" and mentioned["notifications_count"] == 1
    assert mentioned["group_key"] == f"ungrouped-{mentioned['most_recent_notification_id']}"
    assert mentioned["status_id"] == mention["id"]
    assert mentioned["page_min_id"] == mentioned["page_max_id"] == mentioned["most_recent_notification_id"]
    assert favourites["type"] == "favourite" and favourites["notifications_count"] == 2
    assert favourites["group_key"].startswith(f"favourite-{own['id']}-")
    assert favourites["sample_account_ids"] == [str(carol.account_id), str(bob.account_id)]
    assert favourites["status_id"] == own["id"]
    assert int(favourites["page_min_id"]) < int(favourites["page_max_id"])
    assert favourites["page_max_id"] == favourites["most_recent_notification_id"]
    assert favourites["latest_page_notification_at"].endswith("Z")
    assert {a["id"] for a in body["accounts"]} == {str(bob.account_id), str(carol.account_id)}
    assert [s["id"] for s in body["statuses"]] == [mention["id"], own["id"]]

    # Partial avatars: the most recent account of each group in full, the others in brief.
    partial = (await _grouped(client, alice, "?expand_accounts=partial_avatars")).json()
    assert [a["id"] for a in partial["accounts"]] == [str(bob.account_id), str(carol.account_id)]
    assert partial["partial_accounts"] == []
    only_favourites = (
        await _grouped(client, alice, "?types[]=favourite&expand_accounts=partial_avatars")
    ).json()
    assert [a["id"] for a in only_favourites["accounts"]] == [str(carol.account_id)]
    assert [a["id"] for a in only_favourites["partial_accounts"]] == [str(bob.account_id)]
    assert set(only_favourites["partial_accounts"][0]) >= {"id", "acct", "url", "avatar", "avatar_static"}
    bad = await client.get("/api/v2/notifications?expand_accounts=everything", headers=alice.headers)
    assert bad.status_code == 400 and "expand_accounts" in bad.json()["error"]

    # Without favourites in grouped_types, each favourite is its own group.
    ungrouped = (await _grouped(client, alice, "?grouped_types[]=follow")).json()["notification_groups"]
    assert [g["type"] for g in ungrouped] == ["mention", "favourite", "favourite"]
    assert all(g["group_key"].startswith("ungrouped-") and g["notifications_count"] == 1 for g in ungrouped)


async def test_pages_hold_whole_groups(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    for i in range(10):
        await _post(client, bob, status=f"@alice hey how you doing - {i}!")
    await drain_jobs()
    own = await _post(client, alice, status="fav me")
    fans = [await make_user(f"fan{i}") for i in range(3)]
    await _favourited_by(client, drain_jobs, own["id"], fans)

    first = await _grouped(client, alice, "?limit=5")
    groups = first.json()["notification_groups"]
    assert [g["type"] for g in groups] == ["favourite"] + ["mention"] * 4
    assert groups[0]["notifications_count"] == 3
    link = first.headers["link"]
    assert 'rel="next"' in link and 'rel="prev"' in link
    last_id = groups[-1]["most_recent_notification_id"]
    assert f"max_id={last_id}" in link and f"min_id={groups[0]['most_recent_notification_id']}" in link

    second = await _grouped(client, alice, f"?limit=5&max_id={last_id}")
    second_groups = second.json()["notification_groups"]
    assert len(second_groups) == 5 and all(g["type"] == "mention" for g in second_groups)
    seen = {g["group_key"] for g in groups}
    assert not seen & {g["group_key"] for g in second_groups}

    back = await _grouped(client, alice, f"?limit=5&min_id={second_groups[0]['most_recent_notification_id']}")
    assert [g["group_key"] for g in back.json()["notification_groups"]] == [g["group_key"] for g in groups]

    rest = (
        await _grouped(client, alice, f"?max_id={second_groups[-1]['most_recent_notification_id']}")
    ).json()
    assert len(rest["notification_groups"]) == 1


async def test_group_show_accounts_and_dismiss(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    fans = [await make_user(f"fan{i}") for i in range(3)]
    own = await _post(client, alice, status="popular")
    bobs_own = await _post(client, bob, status="also popular")
    await _favourited_by(client, drain_jobs, own["id"], fans)
    await _favourited_by(client, drain_jobs, bobs_own["id"], fans)
    key = (await _grouped(client, alice)).json()["notification_groups"][0]["group_key"]
    bobs_key = (await _grouped(client, bob)).json()["notification_groups"][0]["group_key"]

    shown = await client.get(f"/api/v2/notifications/{key}", headers=alice.headers)
    assert shown.status_code == 200
    group = shown.json()["notification_groups"][0]
    assert group["group_key"] == key and group["notifications_count"] == 3
    assert "page_min_id" not in group
    assert len(shown.json()["accounts"]) == 3

    accounts = await client.get(f"/api/v2/notifications/{key}/accounts?limit=2", headers=alice.headers)
    assert accounts.status_code == 200
    assert [a["id"] for a in accounts.json()] == [str(fans[2].account_id), str(fans[1].account_id)]
    assert 'rel="next"' in accounts.headers["link"]

    # Someone else's group: not found, and dismissing it changes nothing.
    assert (await client.get(f"/api/v2/notifications/{bobs_key}", headers=alice.headers)).status_code == 404
    assert (
        await client.get(f"/api/v2/notifications/{bobs_key}/accounts", headers=alice.headers)
    ).json() == []
    assert (
        await client.post(f"/api/v2/notifications/{bobs_key}/dismiss", headers=alice.headers)
    ).json() == {}
    assert len((await _grouped(client, bob)).json()["notification_groups"]) == 1
    assert (await client.get("/api/v2/notifications/ungrouped-12", headers=alice.headers)).status_code == 404
    assert (await client.get("/api/v2/notifications/ungrouped-x", headers=alice.headers)).status_code == 404

    dismissed = await client.post(f"/api/v2/notifications/{key}/dismiss", headers=alice.headers)
    assert dismissed.status_code == 200 and dismissed.json() == {}
    assert (await _grouped(client, alice)).json()["notification_groups"] == []
    assert (await client.get(f"/api/v2/notifications/{key}", headers=alice.headers)).status_code == 404


async def test_ungrouped_key_dismisses_one_notification(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _post(client, bob, status="@alice one")
    await _post(client, bob, status="@alice two")
    await drain_jobs()
    groups = (await _grouped(client, alice)).json()["notification_groups"]
    shown = await client.get(f"/api/v2/notifications/{groups[0]['group_key']}", headers=alice.headers)
    assert (
        shown.json()["notification_groups"][0]["most_recent_notification_id"]
        == groups[0]["most_recent_notification_id"]
    )
    await client.post(f"/api/v2/notifications/{groups[0]['group_key']}/dismiss", headers=alice.headers)
    remaining = (await _grouped(client, alice)).json()["notification_groups"]
    assert [g["group_key"] for g in remaining] == [groups[1]["group_key"]]


async def test_unread_group_count(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    fans = [await make_user(f"fan{i}") for i in range(3)]
    own = await _post(client, alice, status="fav me")
    await _favourited_by(client, drain_jobs, own["id"], fans)
    await _post(client, bob, status="@alice hi")
    await drain_jobs()
    count = await client.get("/api/v2/notifications/unread_count", headers=alice.headers)
    assert count.status_code == 200 and count.json() == {"count": 2}
    ungrouped = await client.get(
        "/api/v2/notifications/unread_count?grouped_types[]=follow", headers=alice.headers
    )
    assert ungrouped.json() == {"count": 4}
    assert (await client.get("/api/v2/notifications/unread_count?limit=1", headers=alice.headers)).json() == {
        "count": 1
    }
    v1 = await client.get("/api/v1/notifications/unread_count", headers=alice.headers)
    assert v1.json() == {"count": 4}


async def test_grouped_page_takes_a_fixed_number_of_queries(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    senders = [await make_user(f"user{i}") for i in range(4)]
    statuses = [await _post(client, alice, status=f"post {i}") for i in range(12)]

    async def add(status_ids: list[str]) -> None:
        async with container.db.uow() as uow:
            for status_id in status_ids:
                # A mention, then favourites: every page has both kinds, a group on top.
                await notify(
                    uow,
                    type="mention",
                    recipient_id=alice.account_id,
                    from_account_id=senders[0].account_id,
                    status_id=int(status_id),
                )
                for sender in senders:
                    await notify(
                        uow,
                        type="favourite",
                        recipient_id=alice.account_id,
                        from_account_id=sender.account_id,
                        status_id=int(status_id),
                    )

    async def queries_for(limit: int) -> int:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(container.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(f"/api/v2/notifications?limit={limit}", headers=alice.headers)
        finally:
            event.remove(container.db.engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert len(response.json()["notification_groups"]) == limit
        return len(statements)

    await add([s["id"] for s in statuses[:1]])
    one = await queries_for(1)
    await add([s["id"] for s in statuses[1:]])
    assert await queries_for(20) == one
