"""The notification policy (v1 and v2 shapes), the filtering and dropping it causes, and the
notification requests it opens: listing, accepting, dismissing, in bulk, and only one's own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification, NotificationRequest
from kinfolk.kernel.clock import utcnow


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _post(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _policy(client: httpx.AsyncClient, user: Any, **changes: str) -> dict[str, Any]:
    response = await client.patch("/api/v2/notifications/policy", data=changes, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _rows(container: Container, account_id: int) -> list[tuple[str, bool]]:
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(
            select(Notification.type, Notification.filtered)
            .where(Notification.account_id == account_id)
            .order_by(Notification.id)
        )
        return [(t, bool(f)) for t, f in rows.all()]


async def _types(client: httpx.AsyncClient, user: Any, query: str = "") -> list[str]:
    return [
        n["type"] for n in (await client.get(f"/api/v1/notifications{query}", headers=user.headers)).json()
    ]


async def test_default_policy_in_both_shapes_and_updates(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    v2 = await client.get("/api/v2/notifications/policy", headers=alice.headers)
    assert v2.status_code == 200
    assert v2.json() == {
        "for_not_following": "accept",
        "for_not_followers": "accept",
        "for_new_accounts": "accept",
        "for_private_mentions": "filter",
        "for_limited_accounts": "filter",
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }
    v1 = await client.get("/api/v1/notifications/policy", headers=alice.headers)
    assert v1.json() == {
        "filter_not_following": False,
        "filter_not_followers": False,
        "filter_new_accounts": False,
        "filter_private_mentions": True,
        "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
    }
    updated = await _policy(client, alice, for_not_following="filter", for_not_followers="drop")
    assert updated["for_not_following"] == "filter" and updated["for_not_followers"] == "drop"
    assert updated["for_private_mentions"] == "filter"

    bad = await client.patch(
        "/api/v2/notifications/policy",
        data={"for_new_accounts": "filter", "for_limited_accounts": "maybe"},
        headers=alice.headers,
    )
    assert bad.status_code == 422 and "For limited accounts" in bad.json()["error"]
    assert (await client.get("/api/v2/notifications/policy", headers=alice.headers)).json()[
        "for_new_accounts"
    ] == "accept"

    v1_update = await client.put(
        "/api/v1/notifications/policy",
        data={"filter_not_followers": "false", "filter_new_accounts": "true"},
        headers=alice.headers,
    )
    assert v1_update.status_code == 200
    assert (
        v1_update.json()["filter_not_followers"] is False and v1_update.json()["filter_new_accounts"] is True
    )
    reader = await make_user("reader", scopes="read")
    assert (
        await client.patch("/api/v2/notifications/policy", data={}, headers=reader.headers)
    ).status_code == 403


async def test_filtered_mentions_open_a_request_that_can_be_accepted(
    client, make_user, drain_jobs, container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await client.post(f"/api/v1/accounts/{carol.account_id}/follow", headers=alice.headers)
    await _policy(client, alice, for_not_following="filter")
    first = await _post(client, bob, status="@alice please follow me")
    last = await _post(client, bob, status="@alice please!")
    await _post(client, carol, status="@alice from a friend")
    await drain_jobs()
    own = await _post(client, alice, status="mine")
    await client.post(f"/api/v1/statuses/{own['id']}/favourite", headers=bob.headers)
    await drain_jobs()

    assert await _rows(container, alice.account_id) == [
        ("mention", True),
        ("mention", True),
        ("mention", False),
        ("favourite", True),
    ]
    assert await _types(client, alice) == ["mention"]
    with_filtered = (
        await client.get("/api/v1/notifications?include_filtered=true", headers=alice.headers)
    ).json()
    assert [n.get("filtered", False) for n in with_filtered] == [True, False, True, True]
    assert (
        len(
            (
                await client.get(f"/api/v1/notifications?account_id={bob.account_id}", headers=alice.headers)
            ).json()
        )
        == 3
    )
    grouped = (await client.get("/api/v2/notifications", headers=alice.headers)).json()["notification_groups"]
    assert len(grouped) == 1

    requests = await client.get("/api/v1/notifications/requests", headers=alice.headers)
    assert requests.status_code == 200
    (request,) = requests.json()
    assert request["account"]["id"] == str(bob.account_id)
    assert request["notifications_count"] == "3"
    assert request["last_status"]["id"] == last["id"] != first["id"]
    assert set(request) == {"id", "created_at", "updated_at", "notifications_count", "account", "last_status"}
    summary = (await client.get("/api/v2/notifications/policy", headers=alice.headers)).json()["summary"]
    assert summary == {"pending_requests_count": 1, "pending_notifications_count": 3}
    shown = await client.get(f"/api/v1/notifications/requests/{request['id']}", headers=alice.headers)
    assert shown.status_code == 200 and shown.json()["id"] == request["id"]
    assert (
        await client.get(f"/api/v1/notifications/requests/{request['id']}", headers=bob.headers)
    ).status_code == 404

    accepted = await client.post(
        f"/api/v1/notifications/requests/{request['id']}/accept", headers=alice.headers
    )
    assert accepted.status_code == 200 and accepted.json() == {}
    assert (await client.get("/api/v1/notifications/requests/merged", headers=alice.headers)).json() == {
        "merged": True
    }
    assert await _types(client, alice) == ["favourite", "mention", "mention", "mention"]
    assert (await client.get("/api/v1/notifications/requests", headers=alice.headers)).json() == []
    # From now on Bob's notifications pass, though Alice still does not follow him.
    await _post(client, bob, status="@alice thanks")
    await drain_jobs()
    assert (await _rows(container, alice.account_id))[-1] == ("mention", False)


async def test_dismissing_requests_deletes_what_they_held(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    strangers = [await make_user(f"stranger{i}") for i in range(3)]
    await _policy(client, alice, for_not_following="filter")
    for stranger in strangers:
        await _post(client, stranger, status="@alice hi")
    await drain_jobs()
    requests = (await client.get("/api/v1/notifications/requests", headers=alice.headers)).json()
    assert len(requests) == 3
    newest, middle, oldest = requests

    page = await client.get("/api/v1/notifications/requests?limit=2", headers=alice.headers)
    assert [r["id"] for r in page.json()] == [newest["id"], middle["id"]]
    assert f"max_id={middle['id']}" in page.headers["link"]

    dismissed = await client.post(
        f"/api/v1/notifications/requests/{oldest['id']}/dismiss", headers=alice.headers
    )
    assert dismissed.status_code == 200
    assert (
        await client.post(f"/api/v1/notifications/requests/{oldest['id']}/dismiss", headers=alice.headers)
    ).status_code == 404
    assert len(await _rows(container, alice.account_id)) == 2

    bob = await make_user("bob")
    bulk = await client.post(
        "/api/v1/notifications/requests/dismiss",
        data={"id[]": [newest["id"], middle["id"], "999"]},
        headers=bob.headers,
    )
    assert bulk.status_code == 200  # others' ids are skipped
    assert len((await client.get("/api/v1/notifications/requests", headers=alice.headers)).json()) == 2
    await client.post(
        "/api/v1/notifications/requests/accept", data={"id[]": [middle["id"]]}, headers=alice.headers
    )
    await client.post(
        "/api/v1/notifications/requests/dismiss", data={"id[]": [newest["id"]]}, headers=alice.headers
    )
    assert (await client.get("/api/v1/notifications/requests", headers=alice.headers)).json() == []
    assert await _rows(container, alice.account_id) == [("mention", False)]


async def test_dismissing_a_filtered_notification_updates_its_request(
    client, make_user, drain_jobs, container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _policy(client, alice, for_not_following="filter")
    await _post(client, bob, status="@alice one")
    await _post(client, bob, status="@alice two")
    await drain_jobs()
    filtered = (await client.get("/api/v1/notifications?include_filtered=1", headers=alice.headers)).json()
    await client.post(f"/api/v1/notifications/{filtered[0]['id']}/dismiss", headers=alice.headers)
    assert (await client.get("/api/v1/notifications/requests", headers=alice.headers)).json()[0][
        "notifications_count"
    ] == "1"
    await client.post(f"/api/v1/notifications/{filtered[1]['id']}/dismiss", headers=alice.headers)
    assert (await client.get("/api/v1/notifications/requests", headers=alice.headers)).json() == []


async def test_drop_creates_nothing(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _policy(client, alice, for_not_following="drop")
    await _post(client, bob, status="@alice hello?")
    await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    await drain_jobs()
    assert await _rows(container, alice.account_id) == []
    async with container.db.uow(write=False) as uow:
        assert (
            await uow.session.execute(select(func.count()).select_from(NotificationRequest))
        ).scalar_one() == 0


async def test_private_mentions_filtered_unless_answering_or_following(
    client, make_user, drain_jobs, container
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await client.post(f"/api/v1/accounts/{carol.account_id}/follow", headers=alice.headers)
    cold = await _post(client, bob, status="@alice psst", visibility="direct")
    await _post(client, carol, status="@alice psst", visibility="direct")
    await _post(client, bob, status="@alice public hello")
    await drain_jobs()
    assert await _rows(container, alice.account_id) == [
        ("mention", True),
        ("mention", False),
        ("mention", False),
    ]
    # Alice answers Bob privately; his reply to that is not filtered.
    answer = await _post(
        client, alice, status="@bob what is it?", visibility="direct", in_reply_to_id=cold["id"]
    )
    await drain_jobs()
    await _post(client, bob, status="@alice this", visibility="direct", in_reply_to_id=answer["id"])
    await drain_jobs()
    assert (await _rows(container, alice.account_id))[-1] == ("mention", False)


async def test_new_and_limited_accounts(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    newcomer = await make_user("newcomer")
    limited = await make_user("limited")
    veteran = await make_user("veteran")
    async with container.db.uow() as uow:
        old = utcnow() - timedelta(days=60)
        await uow.session.execute(
            update(Account)
            .where(Account.id.in_([limited.account_id, veteran.account_id]))
            .values(created_at=old)
        )
        await uow.session.execute(
            update(Account).where(Account.id == limited.account_id).values(silenced_at=utcnow())
        )
    await _policy(client, alice, for_new_accounts="filter")
    for user in (newcomer, limited, veteran):
        await _post(client, user, status="@alice hi")
        await drain_jobs()
    assert await _rows(container, alice.account_id) == [
        ("mention", True),
        ("mention", True),
        ("mention", False),
    ]
