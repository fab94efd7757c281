"""Collections (Mastodon 4.6): the entity shapes of Mastodon's recorded responses, who may see
and change what, items and their revocation, and offset pagination with its Link header."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import event, select, update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.collections.models import Collection, CollectionItem

API = "/api/v1/collections"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def create(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    data.setdefault("name", "Nice accounts")
    response = await client.post(API, data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["collection"]
    return body


async def set_account(container: Container, account_id: int, **values: Any) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(update(Account).where(Account.id == account_id).values(**values))


async def test_create_renders_mastodons_collection(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    response = await client.post(
        API,
        data={
            "name": "my favourite accounts",
            "description": "beep boop",
            "language": "en",
            "tag_name": "#MastodonPy",
            "sensitive": "0",
            "discoverable": "1",
            "account_ids[]": [str(bob.account_id)],
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["collection"]
    collection = body["collection"]
    assert list(collection) == [
        "id",
        "uri",
        "name",
        "description",
        "language",
        "account_id",
        "local",
        "sensitive",
        "discoverable",
        "url",
        "item_count",
        "created_at",
        "updated_at",
        "tag",
        "items",
    ]
    cid = collection["id"]
    assert collection["uri"] == f"https://kinfolk.test/users/alice/collections/{cid}"
    assert collection["url"] == f"https://kinfolk.test/collections/{cid}"
    assert collection["name"] == "my favourite accounts"
    assert collection["description"] == "beep boop"
    assert collection["language"] == "en"
    assert collection["account_id"] == str(alice.account_id)
    assert (
        collection["local"] is True
        and collection["sensitive"] is False
        and collection["discoverable"] is True
    )
    assert collection["item_count"] == 1
    assert ISO.match(collection["created_at"]) and ISO.match(collection["updated_at"])
    assert collection["tag"] == {"name": "MastodonPy", "url": "https://kinfolk.test/tags/mastodonpy"}
    (item,) = collection["items"]
    assert list(item) == ["id", "state", "created_at", "account_id"]
    assert item["state"] == "accepted" and item["account_id"] == str(bob.account_id)


async def test_defaults_and_nulls(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    collection = await create(client, alice, name="Bare")
    assert collection["description"] is None and collection["language"] is None and collection["tag"] is None
    assert collection["sensitive"] is False and collection["discoverable"] is False
    assert collection["items"] == [] and collection["item_count"] == 0


async def test_show_includes_the_owner_then_featured_accounts(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    collection = await create(
        client, alice, **{"account_ids[]": [str(carol.account_id), str(bob.account_id)]}
    )
    anonymous = await client.get(f"{API}/{collection['id']}")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert list(body) == ["collection", "accounts"]
    assert [a["username"] for a in body["accounts"]] == ["alice", "carol", "bob"]
    assert [i["account_id"] for i in body["collection"]["items"]] == [
        str(carol.account_id),
        str(bob.account_id),
    ]
    # Not discoverable means "not listed", not "secret": a direct link still works.
    assert (await client.get(f"{API}/{collection['id']}", headers=bob.headers)).status_code == 200


async def test_update_changes_only_what_is_given(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    collection = await create(client, alice, description="old", tag_name="cats", discoverable="1")
    url = f"{API}/{collection['id']}"
    response = await client.patch(url, data={"name": "Renamed", "sensitive": "1"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    changed = response.json()["collection"]
    assert changed["name"] == "Renamed" and changed["sensitive"] is True
    assert changed["description"] == "old" and changed["discoverable"] is True
    assert changed["tag"]["name"] == "cats"
    assert changed["created_at"] == collection["created_at"]
    cleared = (
        await client.put(url, json={"tag_name": "", "discoverable": False}, headers=alice.headers)
    ).json()
    assert cleared["collection"]["tag"] is None and cleared["collection"]["discoverable"] is False

    other = await client.patch(url, data={"name": "Mine now"}, headers=bob.headers)
    assert other.status_code == 403
    assert other.json() == {"error": "This action is not allowed"}
    assert (await client.delete(url, headers=bob.headers)).status_code == 403


async def test_validation(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    for data, message in (
        ({}, "Validation failed: Name can't be blank"),
        ({"name": "   "}, "Validation failed: Name can't be blank"),
        ({"name": "x" * 41}, "Validation failed: Name is too long (maximum is 40 characters)"),
        ({"name": "ok", "description": "d" * 101}, "Description is too long (maximum is 100 characters)"),
        ({"name": "ok", "language": "klingon"}, "Validation failed: Language is invalid"),
        ({"name": "ok", "tag_name": "#not a tag"}, "Validation failed: Tag name is invalid"),
    ):
        response = await client.post(API, data=data, headers=alice.headers)
        assert response.status_code == 422, data
        assert message in response.json()["error"]
    bad = await client.post(API, json={"name": {"nested": 1}}, headers=alice.headers)
    assert bad.status_code == 422
    unknown = await client.post(API, data={"name": "ok", "account_ids[]": ["12345"]}, headers=alice.headers)
    assert unknown.status_code == 404
    garbage = await client.post(API, data={"name": "ok", "account_ids[]": ["abc"]}, headers=alice.headers)
    assert garbage.status_code == 404
    assert (
        await client.get(f"/api/v1/accounts/{alice.account_id}/collections", headers=alice.headers)
    ).json() == {"collections": []}


async def test_auth_and_scopes(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    reader = await make_user("reader", scopes="read")
    assert (await client.post(API, data={"name": "x"})).status_code == 401
    refused = await client.post(API, data={"name": "x"}, headers=reader.headers)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is outside the authorized scopes"}
    collection = await create(client, alice, discoverable="1")
    writer = await make_user("writer", scopes="write")
    listing = f"/api/v1/accounts/{alice.account_id}/collections"
    assert (await client.get(listing, headers=writer.headers)).status_code == 403
    assert (await client.get(f"{API}/{collection['id']}", headers=writer.headers)).status_code == 403
    assert (await client.get(listing, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await client.get(f"{API}/999999")).status_code == 404
    assert (await client.get(f"{API}/abc")).status_code == 404
    assert (await client.get(f"{API}/{1 << 64}")).status_code == 404


async def test_limit_of_collections_per_account(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    for i in range(10):
        await create(client, alice, name=f"c{i}")
    refused = await client.post(API, data={"name": "one too many"}, headers=alice.headers)
    assert refused.status_code == 422
    assert refused.json()["error"] == "Validation failed: You have reached the maximum number of collections"


async def test_who_may_be_featured(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    await set_account(container, carol.account_id, discoverable=False)
    refused = await client.post(
        API, data={"name": "x", "account_ids[]": [str(carol.account_id)]}, headers=alice.headers
    )
    assert refused.status_code == 403
    # Nothing was created by the refused request.
    assert (
        await client.get(f"/api/v1/accounts/{alice.account_id}/collections", headers=alice.headers)
    ).json() == {"collections": []}
    blocked = await client.post(f"/api/v1/accounts/{alice.account_id}/block", headers=bob.headers)
    assert blocked.status_code == 200
    collection = await create(client, alice)
    add = await client.post(
        f"{API}/{collection['id']}/items", data={"account_id": str(bob.account_id)}, headers=alice.headers
    )
    assert add.status_code == 403
    missing = await client.post(f"{API}/{collection['id']}/items", data={}, headers=alice.headers)
    assert missing.status_code == 422
    assert missing.json() == {"error": "`account_id` parameter is missing"}


async def test_items_add_remove_and_count(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    collection = await create(client, alice)
    items = f"{API}/{collection['id']}/items"
    added = await client.post(items, data={"account_id": str(bob.account_id)}, headers=alice.headers)
    assert added.status_code == 200, added.text
    item = added.json()["collection_item"]
    assert item["account_id"] == str(bob.account_id) and item["state"] == "accepted"
    again = await client.post(items, data={"account_id": str(bob.account_id)}, headers=alice.headers)
    assert again.status_code == 422
    assert again.json()["error"] == "Validation failed: Account has already been taken"
    not_owner = await client.post(items, data={"account_id": str(carol.account_id)}, headers=bob.headers)
    assert not_owner.status_code == 403
    await client.post(items, json={"account_id": carol.account_id}, headers=alice.headers)
    shown = (await client.get(f"{API}/{collection['id']}")).json()["collection"]
    assert shown["item_count"] == 2 and len(shown["items"]) == 2

    removed = await client.delete(f"{items}/{item['id']}", headers=alice.headers)
    assert removed.status_code == 200
    assert (await client.delete(f"{items}/{item['id']}", headers=alice.headers)).status_code == 404
    shown = (await client.get(f"{API}/{collection['id']}")).json()
    assert shown["collection"]["item_count"] == 1
    assert [i["account_id"] for i in shown["collection"]["items"]] == [str(carol.account_id)]
    assert [a["username"] for a in shown["accounts"]] == ["alice", "carol"]


async def test_revoke_takes_oneself_out(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    collection = await create(client, alice, discoverable="1", **{"account_ids[]": [str(bob.account_id)]})
    item = collection["items"][0]
    revoke = f"{API}/{collection['id']}/items/{item['id']}/revoke"
    assert (await client.post(revoke, headers=carol.headers)).status_code == 403
    assert (await client.post(revoke, headers=alice.headers)).status_code == 403  # only the featured account
    featured_in = f"/api/v1/accounts/{bob.account_id}/in_collections"
    assert [c["id"] for c in (await client.get(featured_in, headers=bob.headers)).json()["collections"]] == [
        collection["id"]
    ]
    response = await client.post(revoke, headers=bob.headers)
    assert response.status_code == 200
    assert (await client.post(revoke, headers=bob.headers)).status_code == 200  # idempotent
    shown = (await client.get(f"{API}/{collection['id']}", headers=alice.headers)).json()["collection"]
    assert shown["items"] == [] and shown["item_count"] == 0
    assert (await client.get(featured_in, headers=bob.headers)).json() == {"collections": []}
    # The owner cannot simply put the account back.
    again = await client.post(
        f"{API}/{collection['id']}/items", data={"account_id": str(bob.account_id)}, headers=alice.headers
    )
    assert again.status_code == 422


async def test_listing_shows_others_only_discoverable_ones(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    hidden = await create(client, alice, name="hidden")
    listed = await create(client, alice, name="listed", discoverable="1")
    url = f"/api/v1/accounts/{alice.account_id}/collections"
    own = (await client.get(url, headers=alice.headers)).json()["collections"]
    assert [c["id"] for c in own] == [listed["id"], hidden["id"]]  # newest first
    assert [c["id"] for c in (await client.get(url)).json()["collections"]] == [listed["id"]]
    assert [c["id"] for c in (await client.get(url, headers=bob.headers)).json()["collections"]] == [
        listed["id"]
    ]
    # Someone the owner blocks sees an empty list, as on Mastodon.
    await client.post(f"/api/v1/accounts/{bob.account_id}/block", headers=alice.headers)
    assert (await client.get(url, headers=bob.headers)).json() == {"collections": []}
    # ...and the collection itself is not found for him, exactly like one that does not exist.
    hidden_from_bob = await client.get(f"{API}/{listed['id']}", headers=bob.headers)
    assert (hidden_from_bob.status_code, hidden_from_bob.json()) == (404, {"error": "Record not found"})
    assert (await client.delete(f"{API}/{listed['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/v1/accounts/999999/collections")).status_code == 404


async def test_items_are_tailored_to_the_viewer(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    collection = await create(
        client, alice, discoverable="1", **{"account_ids[]": [str(bob.account_id), str(carol.account_id)]}
    )
    # A pending item (as a remote account's would be) is shown to the owner only.
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(CollectionItem)
            .where(CollectionItem.account_id == carol.account_id)
            .values(state="pending")
        )
    url = f"{API}/{collection['id']}"
    owner_view = (await client.get(url, headers=alice.headers)).json()["collection"]["items"]
    assert [i["state"] for i in owner_view] == ["accepted", "pending"]
    assert [i["account_id"] for i in (await client.get(url)).json()["collection"]["items"]] == [
        str(bob.account_id)
    ]
    # Accounts the viewer blocks are left out of what the viewer sees.
    await client.post(f"/api/v1/accounts/{bob.account_id}/block", headers=dave.headers)
    body = (await client.get(url, headers=dave.headers)).json()
    assert body["collection"]["items"] == [] and [a["username"] for a in body["accounts"]] == ["alice"]


async def test_in_collections_is_for_oneself_only(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    url = f"/api/v1/accounts/{bob.account_id}/in_collections"
    assert (await client.get(url)).status_code == 401
    other = await client.get(url, headers=alice.headers)
    assert other.status_code == 403 and other.json() == {"error": "This action is not allowed"}
    first = await create(client, alice, name="first", **{"account_ids[]": [str(bob.account_id)]})
    second = await create(client, alice, name="second", **{"account_ids[]": [str(bob.account_id)]})
    mine = (await client.get(url, headers=bob.headers)).json()["collections"]
    # In the order bob was added to them; non-discoverable ones too.
    assert [c["id"] for c in mine] == [first["id"], second["id"]]


async def test_offset_pagination_as_mastodon(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    made = [
        await create(
            client,
            alice,
            name=f"Pagination test {i}",
            discoverable="1",
            **{"account_ids[]": [str(bob.account_id)]},
        )
        for i in range(3)
    ]
    url = f"/api/v1/accounts/{alice.account_id}/collections"
    base = f"https://kinfolk.test{url}"

    first = await client.get(url, params={"limit": "1"}, headers=alice.headers)
    assert [c["id"] for c in first.json()["collections"]] == [made[2]["id"]]
    assert first.headers["link"] == f'<{base}?limit=1&offset=1>; rel="next"'
    middle = await client.get(url, params={"limit": "1", "offset": "1"}, headers=alice.headers)
    assert [c["id"] for c in middle.json()["collections"]] == [made[1]["id"]]
    assert (
        middle.headers["link"]
        == f'<{base}?limit=1&offset=2>; rel="next", <{base}?limit=1&offset=0>; rel="prev"'
    )
    last = await client.get(url, params={"limit": "1", "offset": "2"}, headers=alice.headers)
    assert last.headers["link"] == f'<{base}?limit=1&offset=1>; rel="prev"'
    everything = await client.get(url, headers=alice.headers)
    assert len(everything.json()["collections"]) == 3 and "link" not in everything.headers
    far = await client.get(url, params={"limit": "1", "offset": "1000000"}, headers=alice.headers)
    assert far.json() == {"collections": []}
    assert far.headers["link"] == f'<{base}?limit=1&offset=999999>; rel="prev"'
    odd = await client.get(url, params={"offset": "-5", "limit": "abc"}, headers=alice.headers)
    assert odd.status_code == 200 and len(odd.json()["collections"]) == 3

    featured = f"/api/v1/accounts/{bob.account_id}/in_collections"
    page = await client.get(featured, params={"limit": "2"}, headers=bob.headers)
    assert [c["id"] for c in page.json()["collections"]] == [made[0]["id"], made[1]["id"]]
    assert page.headers["link"] == f'<https://kinfolk.test{featured}?limit=2&offset=2>; rel="next"'


async def test_a_page_costs_the_same_queries_whatever_its_size(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    friends = [await make_user(f"friend{i}") for i in range(3)]
    for i in range(8):
        await create(
            client,
            alice,
            name=f"c{i}",
            tag_name=f"tag{i}",
            discoverable="1",
            **{"account_ids[]": [str(f.account_id) for f in friends]},
        )
    url = f"/api/v1/accounts/{alice.account_id}/collections"
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = container.db.engine.sync_engine
    # Warm: the rate limits' token lookup (kept for a minute) is not part of a page's cost.
    await client.get(url, params={"limit": "1"}, headers=friends[0].headers)
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = await client.get(url, params={"limit": "1"}, headers=friends[0].headers)
        single = len(statements)
        statements.clear()
        eight = await client.get(url, params={"limit": "8"}, headers=friends[0].headers)
        full = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(one.json()["collections"]) == 1
    assert len(eight.json()["collections"]) == 8
    assert all(len(c["items"]) == 3 for c in eight.json()["collections"])
    assert full == single


async def test_deleting_removes_items_too(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    collection = await create(client, alice, **{"account_ids[]": [str(bob.account_id)]})
    response = await client.delete(f"{API}/{collection['id']}", headers=alice.headers)
    assert response.status_code == 200
    assert (await client.get(f"{API}/{collection['id']}")).status_code == 404
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(Collection))).first() is None
        assert (await uow.session.execute(select(CollectionItem))).first() is None
