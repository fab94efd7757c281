"""Searches that resolve: `@user@host` and post URLs looked up on a (fake) remote server on
127.0.0.1 before the search's unit of work opens, and shown only as the viewer may see them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from tests.federation.remote_docs import PUBLIC, FakeRemote, fake_remote, remote_container, remote_settings


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return remote_settings(db_url, tmp_path)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with remote_container(settings) as made:
        yield made


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    async with fake_remote() as server:
        yield server


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
