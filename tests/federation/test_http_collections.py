"""Outbox, followers, following, featured posts and tags as paged ActivityStreams collections."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from tests.federation.helpers import BASE, ap_get, ap_json, post


async def _walk(client: httpx.AsyncClient, collection: dict[str, Any]) -> list[Any]:
    """Every item from `first` through each `next`, checking the pages' shape on the way."""
    items: list[Any] = []
    url: str | None = collection["first"]
    pages = 0
    while url:
        assert url.startswith(BASE)
        page = await ap_json(client, url[len(BASE) :])
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == collection["id"]
        items.extend(page["orderedItems"])
        url = page.get("next")
        pages += 1
        assert pages < 20
    return items


async def test_outbox_pages_hold_public_activities_only(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    posted: list[str] = []
    # 24 public or unlisted statuses and a boost (two pages), 12 private or direct between them.
    for i in range(36):
        visibility = ("public", "unlisted", "private", "public", "unlisted", "direct")[i % 6]
        status = await post(client, alice, status=f"post {i} @bob", visibility=visibility)
        if visibility in ("public", "unlisted"):
            posted.append(status["id"])
    theirs = await post(client, bob, status="bob's")
    boost = await client.post(f"/api/v1/statuses/{theirs['id']}/reblog", headers=alice.headers)
    assert boost.status_code == 200
    outbox = await ap_json(client, "/users/alice/outbox")
    assert outbox["type"] == "OrderedCollection"
    assert outbox["id"] == f"{BASE}/users/alice/outbox"
    assert outbox["totalItems"] == len(posted) + 1
    items = await _walk(client, outbox)
    assert len(items) == len(posted) + 1 == 25
    assert items[0]["type"] == "Announce"
    assert items[0]["object"] == f"{BASE}/users/bob/statuses/{theirs['id']}"
    creates = items[1:]
    assert all(item["type"] == "Create" for item in creates)
    ids = [item["object"]["id"].rsplit("/", 1)[1] for item in creates]
    assert ids == list(reversed(posted))
    assert all(item["object"]["to"] != [f"{BASE}/users/bob"] for item in creates)

    # Walking back from the last page by `prev` finds the same items.
    first = await ap_json(client, outbox["first"][len(BASE) :])
    second = await ap_json(client, first["next"][len(BASE) :])
    back = await ap_json(client, second["prev"][len(BASE) :])
    assert [i["id"] for i in back["orderedItems"]] == [i["id"] for i in first["orderedItems"]]
    assert "prev" not in first


async def test_followers_and_following(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    names = [f"fan{i}" for i in range(23)]
    for name in names:
        fan = await make_user(name)
        followed = await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=fan.headers)
        assert followed.status_code == 200, followed.text
    followers = await ap_json(client, "/users/alice/followers")
    assert followers["totalItems"] == len(names)
    ids = await _walk(client, followers)
    assert sorted(ids) == sorted(f"{BASE}/users/{n}" for n in names)
    following = await ap_json(client, "/users/fan0/following")
    assert following["totalItems"] == 1
    assert await _walk(client, following) == [f"{BASE}/users/alice"]


async def test_hidden_collections_show_counts_only(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == alice.account_id).values(hide_collections=True)
        )
    followers = await ap_json(client, "/users/alice/followers")
    assert followers["totalItems"] == 1
    assert "first" not in followers and "orderedItems" not in followers
    page = await ap_json(client, "/users/alice/followers?page=true")
    assert "orderedItems" not in page and "first" not in page


async def test_featured_posts_and_tags(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="pinned one")
    pinned = await client.post(f"/api/v1/statuses/{status['id']}/pin", headers=alice.headers)
    assert pinned.status_code == 200, pinned.text
    featured = await ap_json(client, "/users/alice/collections/featured")
    assert featured["type"] == "OrderedCollection"
    assert featured["totalItems"] == 1
    assert featured["orderedItems"][0]["id"] == f"{BASE}/users/alice/statuses/{status['id']}"
    assert featured["orderedItems"][0]["type"] == "Note"
    tag = await client.post("/api/v1/featured_tags", data={"name": "Cats"}, headers=alice.headers)
    assert tag.status_code == 200, tag.text
    tags = await ap_json(client, "/users/alice/collections/tags")
    assert tags["items"] == [{"type": "Hashtag", "href": f"{BASE}/tags/cats", "name": "#Cats"}]


async def test_bad_cursors_are_missing(client: httpx.AsyncClient, make_user: Any) -> None:
    await make_user("alice")
    for query in ("max_id=abc", "min_id=-5", "page=true&max_id=" + "9" * 30):
        assert (await ap_get(client, f"/users/alice/outbox?{query}")).status_code == 404


async def test_replies_are_paged_to_the_last(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    root = await post(client, alice, status="root")
    replies = [
        (await post(client, bob, status=f"reply {i}", in_reply_to_id=root["id"]))["uri"] for i in range(23)
    ]
    await post(client, bob, status="hidden", in_reply_to_id=root["id"], visibility="private")
    collection = await ap_json(client, f"/users/alice/statuses/{root['id']}/replies")
    seen: list[str] = list(collection["first"]["items"])
    url: str | None = collection["first"].get("next")
    pages = 0
    while url:
        page = await ap_json(client, url[len(BASE) :])
        assert page["partOf"] == collection["id"]
        seen.extend(page["items"])
        url = page.get("next")
        pages += 1
        assert pages < 5
    assert seen == replies and pages == 1 and len(collection["first"]["items"]) < len(replies)


async def test_a_thread_started_here_is_a_context_collection(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    root = await post(client, alice, status="root")
    reply = await post(client, bob, status="reply", in_reply_to_id=root["id"])
    await post(client, bob, status="secret", in_reply_to_id=root["id"], visibility="private")
    nested = await post(client, alice, status="nested", in_reply_to_id=reply["id"], visibility="unlisted")
    note = await ap_json(client, f"/users/alice/statuses/{nested['id']}")
    assert note["context"].startswith(f"{BASE}/contexts/")
    assert note["conversation"].startswith("tag:")  # the OStatus id stays as Mastodon keeps it
    assert (await ap_json(client, f"/users/alice/statuses/{root['id']}"))["context"] == note["context"]
    collection = await ap_json(client, note["context"][len(BASE) :])
    assert collection["type"] == "OrderedCollection" and collection["attributedTo"] == f"{BASE}/users/alice"
    assert collection["first"]["orderedItems"] == [root["uri"], reply["uri"], nested["uri"]]
    assert "next" not in collection["first"]
    # A thread whose root is not public is not listed; nor is an id that names no thread.
    hidden = await post(client, alice, status="hidden root", visibility="private")
    hidden_reply = await post(
        client, alice, status="answer", in_reply_to_id=hidden["id"], visibility="public"
    )
    context = (await ap_json(client, f"/users/alice/statuses/{hidden_reply['id']}"))["context"]
    assert (await ap_get(client, context[len(BASE) :])).status_code == 404
    assert (await ap_get(client, "/contexts/12345")).status_code == 404
