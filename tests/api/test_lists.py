"""Lists: CRUD, members (followed accounts only), replies policy, the list timeline, and other
people's lists staying out of reach."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.timelines.models import List, ListAccount

LISTS = "/api/v1/lists"


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def follow(client: httpx.AsyncClient, user: Any, target: Any) -> None:
    response = await client.post(f"/api/v1/accounts/{target.account_id}/follow", headers=user.headers)
    assert response.status_code == 200, response.text


async def _count(container: Container, model: Any) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_list_crud(client, make_user, container: Container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    created = await client.post(LISTS, data={"title": "ham burglars"}, headers=alice.headers)
    assert created.status_code == 200
    body = created.json()
    assert body == {"id": body["id"], "title": "ham burglars", "replies_policy": "list", "exclusive": False}
    assert (await client.get(LISTS, headers=alice.headers)).json() == [body]

    updated = await client.put(
        f"{LISTS}/{body['id']}",
        json={"title": "fry kids", "replies_policy": "followed", "exclusive": True},
        headers=alice.headers,
    )
    assert updated.json() == {
        "id": body["id"],
        "title": "fry kids",
        "replies_policy": "followed",
        "exclusive": True,
    }
    same = await client.put(f"{LISTS}/{body['id']}", data={"exclusive": "0"}, headers=alice.headers)
    assert same.json()["title"] == "fry kids" and same.json()["exclusive"] is False
    assert (await client.get(f"{LISTS}/{body['id']}", headers=alice.headers)).json() == same.json()

    for data, message in (
        ({"title": ""}, "Title can't be blank"),
        ({"title": "x" * 256}, "Title is too long"),
        ({"title": "ok", "replies_policy": "everyone"}, "Replies policy is not included in the list"),
    ):
        response = await client.post(LISTS, data=data, headers=alice.headers)
        assert response.status_code == 422 and message in response.json()["error"], response.text
    assert (
        await client.put(f"{LISTS}/{body['id']}", data={"title": " "}, headers=alice.headers)
    ).status_code == 422
    assert await _count(container, List) == 1

    assert (await client.delete(f"{LISTS}/{body['id']}", headers=alice.headers)).json() == {}
    assert (await client.get(f"{LISTS}/{body['id']}", headers=alice.headers)).status_code == 404
    assert (await client.get(f"{LISTS}/nope", headers=alice.headers)).status_code == 404
    assert (await client.get(LISTS)).status_code == 401
    reader = await make_user("reader", scopes="read")
    assert (await client.post(LISTS, data={"title": "x"}, headers=reader.headers)).status_code == 403


async def test_someone_elses_list_is_not_found(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    mallory = await make_user("mallory")
    list_id = (await client.post(LISTS, data={"title": "mine"}, headers=alice.headers)).json()["id"]
    for method, path in (
        ("GET", f"{LISTS}/{list_id}"),
        ("PUT", f"{LISTS}/{list_id}"),
        ("DELETE", f"{LISTS}/{list_id}"),
        ("GET", f"{LISTS}/{list_id}/accounts"),
        ("POST", f"{LISTS}/{list_id}/accounts"),
        ("DELETE", f"{LISTS}/{list_id}/accounts"),
        ("GET", f"/api/v1/timelines/list/{list_id}"),
    ):
        response = await client.request(method, path, data={"title": "pwned"}, headers=mallory.headers)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.get(f"{LISTS}/{list_id}", headers=alice.headers)).json()["title"] == "mine"


async def test_members_must_be_followed_and_leave_on_unfollow(
    client, make_user, container: Container, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    list_id = (await client.post(LISTS, data={"title": "friends"}, headers=alice.headers)).json()["id"]
    members = f"{LISTS}/{list_id}/accounts"

    refused = await client.post(members, data={"account_ids[]": [str(bob.account_id)]}, headers=alice.headers)
    assert refused.status_code == 422 and "followed" in refused.json()["error"]
    unknown = await client.post(members, data={"account_ids[]": ["12345"]}, headers=alice.headers)
    assert unknown.status_code == 404
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    # One refused account refuses the whole request.
    mixed = await client.post(
        members, data={"account_ids[]": [str(bob.account_id), "999999"]}, headers=alice.headers
    )
    assert mixed.status_code == 404
    assert await _count(container, ListAccount) == 0

    added = await client.post(
        members, json={"account_ids": [str(bob.account_id), str(carol.account_id)]}, headers=alice.headers
    )
    assert added.status_code == 200 and added.json() == {}
    again = await client.post(members, data={"account_ids[]": [str(bob.account_id)]}, headers=alice.headers)
    assert again.status_code == 422 and "already" in again.json()["error"]
    listed = await client.get(members, headers=alice.headers)
    assert sorted(a["id"] for a in listed.json()) == sorted([str(bob.account_id), str(carol.account_id)])
    assert (await client.get(members, params={"limit": "0"}, headers=alice.headers)).status_code == 200
    one = await client.get(members, params={"limit": "1"}, headers=alice.headers)
    assert len(one.json()) == 1 and 'rel="next"' in one.headers["link"]

    in_lists = await client.get(f"/api/v1/accounts/{bob.account_id}/lists", headers=alice.headers)
    assert [item["id"] for item in in_lists.json()] == [list_id]
    assert (await client.get("/api/v1/accounts/424242/lists", headers=alice.headers)).status_code == 404

    # Unfollowing takes bob off the list (the membership holds the follow).
    assert (
        await client.post(f"/api/v1/accounts/{bob.account_id}/unfollow", headers=alice.headers)
    ).status_code == 200
    assert [a["id"] for a in (await client.get(members, headers=alice.headers)).json()] == [
        str(carol.account_id)
    ]
    removed = await client.request(
        "DELETE", members, data={"account_ids[]": [str(carol.account_id)]}, headers=alice.headers
    )
    assert removed.status_code == 200 and removed.json() == {}
    assert (await client.get(members, headers=alice.headers)).json() == []
    await drain_jobs()


async def test_list_timeline_and_replies_policy(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    dave = await make_user("dave")
    old = await post(client, bob, "before the list")
    for target in (bob, carol, dave):
        await follow(client, alice, target)
    await drain_jobs()
    lists = {}
    for policy in ("list", "followed", "none"):
        response = await client.post(
            LISTS, data={"title": policy, "replies_policy": policy}, headers=alice.headers
        )
        lists[policy] = response.json()["id"]
        await client.post(
            f"{LISTS}/{lists[policy]}/accounts",
            data={"account_ids[]": [str(bob.account_id), str(carol.account_id)]},
            headers=alice.headers,
        )
    await drain_jobs()
    by_carol = await post(client, carol, "a thought")
    to_member = await post(client, bob, "@carol agreed", in_reply_to_id=by_carol["id"])
    by_dave = await post(client, dave, "unrelated")
    to_followed = await post(client, bob, "@dave sure", in_reply_to_id=by_dave["id"])
    to_owner = await post(client, bob, "@alice hi", in_reply_to_id=(await post(client, alice, "hey"))["id"])
    await drain_jobs()

    def timeline(name: str) -> Any:
        return client.get(f"/api/v1/timelines/list/{lists[name]}", headers=alice.headers)

    seen = {name: [s["id"] for s in (await timeline(name)).json()] for name in lists}
    assert seen["list"] == [to_owner["id"], to_member["id"], by_carol["id"], old["id"]]
    assert seen["followed"] == [to_owner["id"], to_followed["id"], to_member["id"], by_carol["id"], old["id"]]
    assert seen["none"] == [to_owner["id"], by_carol["id"], old["id"]]
    assert (await client.get(f"/api/v1/timelines/list/{lists['list']}")).status_code == 401

    # A member who leaves takes their statuses out of the list.
    await client.request(
        "DELETE",
        f"{LISTS}/{lists['none']}/accounts",
        data={"account_ids[]": [str(bob.account_id)]},
        headers=alice.headers,
    )
    assert [s["id"] for s in (await timeline("none")).json()] == [by_carol["id"]]
    await drain_jobs()
    assert [s["id"] for s in (await timeline("none")).json()] == [by_carol["id"]]
