"""GET /api/v2/search: full text on both databases, opt-in and interaction limits, visibility,
hashtags, accounts, local URL resolution and the remote-resolver hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, update
from tests.remote import make_remote_account

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.search.resolver import RESOLVER_KEY
from kinfolk.domain.tags.models import Tag


async def _post(client: httpx.AsyncClient, user, text: str, **data: Any) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _search(client: httpx.AsyncClient, user, q: str, **params: Any) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = user.headers if user is not None else {}
    return await client.get("/api/v2/search", params={"q": q, **params}, headers=headers)


async def _status_ids(client: httpx.AsyncClient, user, q: str, **params: Any) -> list[str]:  # type: ignore[no-untyped-def]
    response = await _search(client, user, q, type="statuses", **params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["statuses"]]


async def _set_indexable(container: Container, account_id: int, value: bool = True) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(update(Account).where(Account.id == account_id).values(indexable=value))


async def test_full_text_words_phrases_and_exclusions(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    fox = await _post(client, alice, "The quick brown Fox jumps")
    dog = await _post(client, alice, "A lazy dog sleeps", spoiler_text="Dogs!")
    both = await _post(client, alice, "fox and dog, quick friends")

    assert await _status_ids(client, alice, "fox") == [both["id"], fox["id"]]
    assert await _status_ids(client, alice, "QUICK fox") == [both["id"], fox["id"]]
    assert await _status_ids(client, alice, '"brown fox"') == [fox["id"]]
    assert await _status_ids(client, alice, '"fox brown"') == []
    assert await _status_ids(client, alice, "fox -dog") == [fox["id"]]
    assert await _status_ids(client, alice, "dogs") == [dog["id"]]  # the content warning is searched
    assert await _status_ids(client, alice, "-fox") == []
    assert await _status_ids(client, alice, "cat") == []
    # Query syntax is never interpreted: quotes, operators and FTS keywords are just text.
    for odd in ('fox"', "fox AND", "NEAR(fox dog)", "fox*", "fox OR cat", "' OR 1=1 --", ":", "(", "\\"):
        response = await _search(client, alice, odd, type="statuses")
        assert response.status_code == 200, (odd, response.text)


async def test_edits_and_deletes_keep_the_index_in_step(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    status = await _post(client, alice, "original wording")
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}", data={"status": "revised text"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    assert await _status_ids(client, alice, "original") == []
    assert await _status_ids(client, alice, "revised") == [status["id"]]
    assert (await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)).status_code == 200
    assert await _status_ids(client, alice, "revised") == []


async def test_only_opted_in_authors_or_own_interactions(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    bob = await make_user("bob")
    carol = await make_user("carol")
    dave = await make_user("dave")
    faved = await _post(client, bob, "gardening tips one")
    booked = await _post(client, bob, "gardening tips two")
    boosted = await _post(client, bob, "gardening tips three")
    untouched = await _post(client, bob, "gardening tips four")
    mention = await _post(client, dave, "@carol gardening tips five")

    # Nobody opted in, carol touched nothing: only the status that mentions her.
    assert await _status_ids(client, carol, "gardening") == [mention["id"]]

    await client.post(f"/api/v1/statuses/{faved['id']}/favourite", headers=carol.headers)
    await client.post(f"/api/v1/statuses/{booked['id']}/bookmark", headers=carol.headers)
    await client.post(f"/api/v1/statuses/{boosted['id']}/reblog", headers=carol.headers)
    found = await _status_ids(client, carol, "gardening")
    assert found == [mention["id"], boosted["id"], booked["id"], faved["id"]]
    assert untouched["id"] not in found
    # `in:library` is the same limit; the author always finds their own posts.
    assert await _status_ids(client, carol, "gardening in:library") == found
    assert len(await _status_ids(client, bob, "gardening")) == 4

    await _set_indexable(container, bob.account_id)
    everything = await _status_ids(client, carol, "gardening")
    assert untouched["id"] in everything and len(everything) == 5
    assert await _status_ids(client, carol, "gardening in:library") == found
    # Boosts themselves are never results.
    assert all(s for s in everything if s != boosted["id"])


async def test_private_statuses_never_reach_non_followers(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    dave = await make_user("dave")
    carol = await make_user("carol")
    eve = await make_user("eve")
    await _set_indexable(container, dave.account_id)
    private = await _post(client, dave, "secret plans for everyone", visibility="private")
    unlisted = await _post(client, dave, "secret unlisted musings", visibility="unlisted")
    direct = await _post(client, dave, "@carol secret direct note", visibility="direct")
    public = await _post(client, dave, "secret public note")

    # Opt-in covers public posts only; the direct one reaches the mentioned account.
    assert await _status_ids(client, eve, "secret") == [public["id"]]
    assert await _status_ids(client, carol, "secret") == [public["id"], direct["id"]]

    # A follower who interacted finds the private post, until they stop following.
    follow = await client.post(f"/api/v1/accounts/{dave.account_id}/follow", headers=eve.headers)
    assert follow.status_code == 200, follow.text
    await client.post(f"/api/v1/statuses/{private['id']}/favourite", headers=eve.headers)
    await client.post(f"/api/v1/statuses/{unlisted['id']}/favourite", headers=eve.headers)
    assert await _status_ids(client, eve, "secret") == [public["id"], unlisted["id"], private["id"]]
    await client.post(f"/api/v1/accounts/{dave.account_id}/unfollow", headers=eve.headers)
    assert await _status_ids(client, eve, "secret") == [public["id"], unlisted["id"]]

    # Blocks hide an author from search entirely.
    await client.post(f"/api/v1/accounts/{dave.account_id}/block", headers=eve.headers)
    assert await _status_ids(client, eve, "secret") == []


async def test_paging_and_narrowing(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _set_indexable(container, bob.account_id)
    ids = [(await _post(client, alice, f"paging test number {i}"))["id"] for i in range(5)]
    bobs = await _post(client, bob, "paging test from bob")
    newest_first = [bobs["id"], *reversed(ids)]
    assert await _status_ids(client, alice, "paging") == newest_first
    assert await _status_ids(client, alice, "paging", limit=2) == newest_first[:2]
    assert await _status_ids(client, alice, "paging", limit=2, offset=2) == newest_first[2:4]
    assert await _status_ids(client, alice, "paging", max_id=ids[3]) == [ids[2], ids[1], ids[0]]
    assert await _status_ids(client, alice, "paging", min_id=ids[3]) == [bobs["id"], ids[4]]
    assert await _status_ids(client, alice, "paging", account_id=bob.account_id) == [bobs["id"]]
    assert await _status_ids(client, alice, "paging from:bob") == [bobs["id"]]
    assert await _status_ids(client, alice, "paging from:me") == list(reversed(ids))
    assert await _status_ids(client, alice, "paging from:nobody") == []
    assert await _status_ids(client, alice, "paging is:reply") == []
    assert await _status_ids(client, alice, "paging has:poll") == []
    assert len(await _status_ids(client, alice, "paging", limit=1000)) == 6

    # Offset pages only a single-type search, as in Mastodon.
    untyped = await _search(client, alice, "paging", offset=5)
    assert [s["id"] for s in untyped.json()["statuses"]] == newest_first


async def test_anonymous_search(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _set_indexable(container, alice.account_id)
    await _post(client, alice, "#Anon public words")
    response = await _search(client, None, "words")
    assert response.status_code == 200
    assert response.json()["statuses"] == []  # full text needs a signed-in user
    tags = (await _search(client, None, "#ano")).json()["hashtags"]
    assert [t["name"] for t in tags] == ["Anon"] and "following" not in tags[0]
    accounts = (await _search(client, None, "alic")).json()["accounts"]
    assert [a["username"] for a in accounts] == ["alice"]

    offset = await _search(client, None, "words", type="statuses", offset=0)
    assert offset.status_code == 401 and "pagination" in offset.json()["error"]
    resolve = await _search(client, None, "alice", resolve="true")
    assert resolve.status_code == 401
    missing = await client.get("/api/v2/search")
    assert missing.status_code == 400 and "q" in missing.json()["error"]
    narrow = await make_user("narrow", scopes="read:accounts")
    assert (await _search(client, narrow, "x")).status_code == 403


async def test_hashtag_search(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _post(client, alice, "#cat #caterpillar #catalog #category #dog")
    async with container.db.uow() as uow:
        await uow.session.execute(update(Tag).where(Tag.name == "category").values(listable=False))
    body = (await _search(client, alice, "#Cat", type="hashtags")).json()
    assert [t["name"] for t in body["hashtags"]] == ["cat", "catalog", "caterpillar"]
    assert body["accounts"] == [] and body["statuses"] == []
    assert body["hashtags"][0]["following"] is False
    assert len(body["hashtags"][0]["history"]) == 7
    paged = (await _search(client, alice, "cat", type="hashtags", limit=1, offset=1)).json()["hashtags"]
    assert [t["name"] for t in paged] == ["catalog"]
    assert (await _search(client, alice, "cat@example.com", type="hashtags")).json()["hashtags"] == []
    assert (await _search(client, alice, "c%t", type="hashtags")).json()["hashtags"] == []


async def test_query_shapes_choose_what_is_searched(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _post(client, alice, "mentioning alice and #alice")
    everything = (await _search(client, alice, "alice")).json()
    assert [a["username"] for a in everything["accounts"]] == ["alice"]
    assert len(everything["statuses"]) == 1
    assert [t["name"] for t in everything["hashtags"]] == ["alice"]
    hashed = (await _search(client, alice, "#alice")).json()
    assert hashed["accounts"] == [] and hashed["statuses"] == [] and len(hashed["hashtags"]) == 1
    handle = (await _search(client, alice, "@alice@kinfolk.test")).json()
    assert [a["username"] for a in handle["accounts"]] == ["alice"]
    assert handle["statuses"] == [] and handle["hashtags"] == []
    assert (await _search(client, alice, "alice", type="unknown")).json() == {
        "accounts": [],
        "statuses": [],
        "hashtags": [],
        "collections": [],
    }


async def test_resolving_local_urls(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    public = await _post(client, alice, "find me by URL")
    private = await _post(client, alice, "followers only", visibility="private")

    for url in (public["url"], public["uri"]):
        body = (await _search(client, bob, url, resolve="true")).json()
        assert [s["id"] for s in body["statuses"]] == [public["id"]], url
        assert body["accounts"] == [] and body["hashtags"] == []
    assert (await _search(client, bob, private["url"], resolve="true")).json()["statuses"] == []
    assert (await _search(client, alice, private["url"], resolve="true")).json()["statuses"][0][
        "id"
    ] == private["id"]
    wrong_author = public["url"].replace("/@alice/", "/@bob/")
    assert (await _search(client, bob, wrong_author, resolve="true")).json()["statuses"] == []
    for url in ("https://kinfolk.test/@alice", "https://kinfolk.test/users/alice"):
        body = (await _search(client, bob, url, resolve="true")).json()
        assert [a["id"] for a in body["accounts"]] == [str(alice.account_id)], url
    typed = await _search(client, bob, "https://kinfolk.test/@alice", resolve="true", type="statuses")
    assert typed.json()["accounts"] == []
    assert (await _search(client, bob, "https://elsewhere.example/@alice", resolve="true")).json() == {
        "accounts": [],
        "statuses": [],
        "hashtags": [],
        "collections": [],
    }


class _FakeResolver:
    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.calls: list[tuple[str, ...]] = []

    async def resolve_url(self, url: str) -> tuple[str, int]:
        self.calls.append(("url", url))
        return ("account", self.account_id)

    async def resolve_handle(self, username: str, domain: str) -> int:
        self.calls.append(("handle", username, domain))
        return self.account_id


async def test_remote_resolution_goes_through_the_hook(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    remote = await make_remote_account(container, "zed", "remote.example")
    resolver = _FakeResolver(remote.id)
    container.extras[RESOLVER_KEY] = resolver
    try:
        # Without resolve, nothing remote is asked for.
        await _search(client, alice, "zed@remote.example")
        assert resolver.calls == []
        body = (await _search(client, alice, "@zed@remote.example", resolve="true")).json()
        assert [a["acct"] for a in body["accounts"]] == ["zed@remote.example"]
        assert resolver.calls == [("handle", "zed", "remote.example")]
        body = (await _search(client, alice, "https://remote.example/users/zed", resolve="true")).json()
        assert [a["acct"] for a in body["accounts"]] == ["zed@remote.example"]
        assert resolver.calls[-1] == ("url", "https://remote.example/users/zed")
    finally:
        container.extras.pop(RESOLVER_KEY, None)


async def test_postgresql_uses_the_fulltext_index(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from kinfolk.domain.search.repo import PG_DOCUMENT

    if container.db.dialect != "postgresql":
        return
    alice = await make_user("alice")
    await _post(client, alice, "index me")
    async with container.db.uow() as uow:
        # Enough rows that an index on the words beats any other plan.
        await uow.session.execute(
            text(
                "INSERT INTO statuses (id, account_id, local, text, content, spoiler_text, sensitive, "
                "visibility, quote_policy, created_at) SELECT s.id + g, s.account_id, true, "
                "'filler words ' || g, '', '', false, 'public', 'public', s.created_at "
                "FROM statuses s, generate_series(1, 2000) g"
            )
        )
        await uow.session.execute(text("ANALYZE statuses"))
    async with container.db.uow(write=False) as uow:
        plan = await uow.session.execute(
            text(
                f"EXPLAIN SELECT id FROM statuses WHERE {PG_DOCUMENT} @@ websearch_to_tsquery('simple', 'index') "
                "AND reblog_of_id IS NULL AND deleted_at IS NULL"
            )
        )
        assert "ix_statuses_fulltext" in "\n".join(r[0] for r in plan.all())


@contextmanager
def _count_selects(container: Container) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


async def test_a_page_of_results_costs_a_fixed_number_of_queries(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    for i in range(20):
        await _post(client, alice, f"counting words #count{chr(97 + i)}")
    counts = []
    for limit in (1, 20):
        with _count_selects(container) as seen:
            response = await _search(client, alice, "counting", type="statuses", limit=limit)
        assert len(response.json()["statuses"]) == limit
        counts.append(len(seen))
    assert counts[0] == counts[1]
    counts = []
    for limit in (1, 20):
        with _count_selects(container) as seen:
            response = await _search(client, alice, "count", type="hashtags", limit=limit)
        assert len(response.json()["hashtags"]) == limit
        counts.append(len(seen))
    assert counts[0] == counts[1]
