"""Searches that resolve: `@user@host` and post URLs looked up on a (fake) remote server on
127.0.0.1 before the search's unit of work opens, and shown only as the viewer may see them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiohttp import web

from kinfolk.container import Container
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.domain.statuses.models import Tombstone
from kinfolk.kernel.clock import utcnow
from tests.federation import remote_fixtures
from tests.federation.remote_docs import PUBLIC, FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


async def _search(client: httpx.AsyncClient, user: Any, q: str, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v2/search", params={"q": q, **params}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_handle_resolves_only_when_asked(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    alice = await make_user("alice")
    uri = remote.actor("bob")
    host = f"remote.test:{remote.port}"
    assert (await _search(client, alice, f"@bob@{host}"))["accounts"] == []
    assert sum(remote.hits.values()) == 0
    body = await _search(client, alice, f"@bob@{host}", resolve="true")
    [bob] = body["accounts"]
    assert bob["acct"] == f"bob@{host}" and bob["uri"] == uri and bob["username"] == "bob"
    # accounts/search resolves too, and lookup answers for the now known account.
    response = await client.get(
        "/api/v1/accounts/search", params={"q": f"bob@{host}", "resolve": "true"}, headers=alice.headers
    )
    assert [a["acct"] for a in response.json()] == [f"bob@{host}"]
    response = await client.get("/api/v1/accounts/lookup", params={"acct": f"bob@{host}"})
    assert response.status_code == 200 and response.json()["uri"] == uri


async def test_anonymous_searches_never_fetch(client: httpx.AsyncClient, remote: FakeRemote) -> None:
    remote.actor("bob")
    response = await client.get(
        "/api/v2/search", params={"q": f"@bob@remote.test:{remote.port}", "resolve": "true"}
    )
    assert response.status_code == 401
    assert sum(remote.hits.values()) == 0


async def test_a_post_url_resolves_to_the_post_and_hidden_ones_stay_hidden(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    alice = await make_user("alice")
    author = remote.actor("bob")
    public = remote.note(author, 1, "public words")
    body = await _search(client, alice, public["id"], resolve="true")
    assert [s["uri"] for s in body["statuses"]] == [public["id"]]
    assert "public words" in body["statuses"][0]["content"]
    # A followers-only post of someone alice doesn't follow is stored but not shown to her.
    hidden = remote.note(author, 2, "for followers", to=[f"{author}/followers"], cc=[])
    assert (await _search(client, alice, hidden["id"], resolve="true"))["statuses"] == []
    # The actor's URL resolves to the account.
    body = await _search(client, alice, author, resolve="true")
    assert [a["uri"] for a in body["accounts"]] == [author]
    assert PUBLIC in public["to"]


async def test_a_dead_server_finds_nothing(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    # Nothing listens on port 9 of 127.0.0.1: the lookup fails fast and finds nothing.
    body = await _search(client, alice, "@bob@remote.test:9", resolve="true")
    assert body["accounts"] == []
    body = await _search(client, alice, "http://remote.test:9/users/bob/statuses/1", resolve="true")
    assert body["statuses"] == []


async def test_a_local_post_resolves_an_unknown_remote_mention(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    """Mentions are resolved before the post's unit of work: the post links the mention to the
    remote account's page and stores the mention (so the post is delivered to them)."""
    alice = await make_user("alice")
    uri = remote.actor("bob")
    host = f"remote.test:{remote.port}"
    response = await client.post(
        "/api/v1/statuses", data={"status": f"hello @bob@{host}"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    status = response.json()
    page = remote.docs[uri]["url"]
    assert [(m["acct"], m["url"]) for m in status["mentions"]] == [(f"bob@{host}", page)]
    assert f'href="{page}"' in status["content"]
    # Known now: a second post looks nothing up.
    hits = sum(remote.hits.values())
    response = await client.post(
        "/api/v1/statuses", data={"status": f"again @bob@{host}"}, headers=alice.headers
    )
    assert response.status_code == 200 and sum(remote.hits.values()) == hits


async def test_no_database_connection_is_held_while_a_remote_server_is_asked(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote, container: Container
) -> None:
    """Every resolving path (both searches, a post's mentions, an edit's) waits on the remote
    server with no unit of work open: on SQLite one would hold the write lock for everyone."""
    alice = await make_user("alice")
    held: list[tuple[str, int]] = []

    async def connections_in_use(request: web.Request) -> None:
        # A moment first: sibling fetches' own short reads (the instance key) finish; a unit of
        # work kept open across the fetch would still hold its connection.
        await asyncio.sleep(0.05)
        held.append((request.path, container.db.engine.pool.checkedout()))  # type: ignore[attr-defined]

    remote.on_request = connections_in_use
    author = remote.actor("bob")
    remote.actor("carol")
    remote.actor("dave")
    note = remote.note(author, 1, "words")
    host = f"remote.test:{remote.port}"
    assert (await _search(client, alice, f"@bob@{host}", resolve="true"))["accounts"]
    assert (await _search(client, alice, note["id"], resolve="true"))["statuses"]
    response = await client.get(
        "/api/v1/accounts/search", params={"q": f"@carol@{host}", "resolve": "true"}, headers=alice.headers
    )
    assert [a["acct"] for a in response.json()] == [f"carol@{host}"]
    response = await client.post("/api/v1/statuses", data={"status": "first"}, headers=alice.headers)
    status_id = response.json()["id"]
    response = await client.put(
        f"/api/v1/statuses/{status_id}", data={"status": f"edited for @dave@{host}"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert [m["acct"] for m in response.json()["mentions"]] == [f"dave@{host}"]
    assert held and {count for _, count in held} == {0}, held


async def test_a_known_account_answers_without_any_request(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    alice = await make_user("alice")
    remote.actor("bob")
    host = f"remote.test:{remote.port}"
    assert (await _search(client, alice, f"@bob@{host}", resolve="true"))["accounts"]
    asked = sum(remote.hits.values())
    body = await _search(client, alice, f"@bob@{host}", resolve="true")
    assert [a["acct"] for a in body["accounts"]] == [f"bob@{host}"]
    assert sum(remote.hits.values()) == asked


async def test_a_post_url_is_fetched_once_and_a_deleted_post_not_again(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote, container: Container
) -> None:
    alice = await make_user("alice")
    author = remote.actor("bob")
    note = remote.note(author, 1, "once")
    assert (await _search(client, alice, note["id"], resolve="true"))["statuses"]
    assert remote.hits[note["id"]] == 1
    gone = remote.note(author, 2, "deleted")
    async with container.db.uow() as uow:
        uow.session.add(Tombstone(uri=gone["id"], created_at=utcnow()))
    assert (await _search(client, alice, gone["id"], resolve="true"))["statuses"] == []
    assert remote.hits[gone["id"]] == 0


async def test_a_suspended_server_is_never_asked(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote, container: Container
) -> None:
    alice = await make_user("alice")
    author = remote.actor("bob")
    note = remote.note(author, 1)
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("remote.test", severity="suspend"))
    host = f"remote.test:{remote.port}"
    assert (await _search(client, alice, f"@bob@{host}", resolve="true"))["accounts"] == []
    assert (await _search(client, alice, note["id"], resolve="true"))["statuses"] == []
    response = await client.post(
        "/api/v1/statuses", data={"status": f"hi @bob@{host}"}, headers=alice.headers
    )
    assert response.status_code == 200 and response.json()["mentions"] == []
    assert sum(remote.hits.values()) == 0


async def test_a_resolved_remote_account_can_be_followed(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    alice = await make_user("alice")
    remote.actor("bob")
    [bob] = (await _search(client, alice, f"@bob@remote.test:{remote.port}", resolve="true"))["accounts"]
    response = await client.post(f"/api/v1/accounts/{bob['id']}/follow", headers=alice.headers)
    assert response.status_code == 200, response.text
    # A remote follow waits for the other server's Accept.
    assert response.json()["requested"] is True and response.json()["following"] is False
