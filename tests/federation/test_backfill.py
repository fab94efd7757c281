"""Backfill of remote threads and profiles from a (fake) remote server: what is fetched, what is
stored, quietly, and where the walk stops (posts, pages, cycles, endless `next` chains)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain import backfill as requests
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.statuses.models import Status, StatusStats
from kinfolk.domain.timelines.models import HomeFeedEntry as HomeFeed
from kinfolk.federation import backfill, dereference
from tests.federation import remote_fixtures
from tests.federation.inboxes import jobs_of, run_jobs
from tests.federation.remote_docs import PUBLIC, FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


async def _uris(container: Container) -> set[str]:
    async with container.db.uow(write=False) as uow:
        return {u for u in (await uow.session.execute(select(Status.uri))).scalars() if u}


async def _status(container: Container, uri: str) -> Status:
    async with container.db.uow(write=False) as uow:
        return (await uow.session.execute(select(Status).where(Status.uri == uri))).scalar_one()


async def _count(container: Container, model: type) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


def _collection(remote: FakeRemote, url: str, items: list[Any], *, next_url: str | None = None) -> str:
    """A collection at `url` whose first page (at `url`/page) holds `items`."""
    page: dict[str, Any] = {
        "id": f"{url}/page",
        "type": "OrderedCollectionPage",
        "partOf": url,
        "orderedItems": items,
    }
    if next_url is not None:
        page["next"] = next_url
    remote.docs[f"{url}/page"] = page
    remote.docs[url] = {"id": url, "type": "OrderedCollection", "first": f"{url}/page"}
    return url


def _note_with_replies(remote: FakeRemote, author: str, number: int, replies: list[str], **extra: Any) -> str:
    uri = f"{author}/statuses/{number}"
    collection = _collection(remote, f"{uri}/replies", list(replies))
    remote.note(author, number, f"post {number}", replies=collection, **extra)
    return uri


async def test_thread_is_walked_through_replies_quietly(
    container: Container, remote: FakeRemote, make_user: Any
) -> None:
    bob = remote.actor("bob")
    carol = remote.actor("carol", host="other.test")
    await make_user("alice")
    mention = [{"type": "Mention", "href": container.uris.actor("alice"), "name": "@alice"}]
    root = f"{bob}/statuses/1"
    r1, r2, r3 = f"{carol}/statuses/2", f"{bob}/statuses/3", f"{carol}/statuses/4"
    _note_with_replies(remote, bob, 1, [r1, {"id": r2, "type": "Note", "content": "forged"}])
    _note_with_replies(remote, carol, 2, [r3], inReplyTo=root, tag=mention)
    _note_with_replies(remote, bob, 3, [], inReplyTo=root)
    _note_with_replies(remote, carol, 4, [root, r1], inReplyTo=r1)  # loops back: read once
    # The root only is known, as after a search.
    known = await dereference.fetch_note(container, root)
    assert known is not None
    walk = await backfill.backfill_thread(container, known)
    assert {root, r1, r2, r3} <= await _uris(container)
    assert (await _status(container, r3)).in_reply_to_id == (await _status(container, r1)).id
    assert (await _status(container, r2)).content == "<p>post 3</p>"  # fetched, not the embedded copy
    assert walk.posts == 4 and all(remote.hits[u] <= 2 for u in (root, r1, r2, r3))
    # Old news: no notification of the mention, nothing in any home feed.
    await run_jobs(container)
    assert await _count(container, Notification) == 0
    assert await _count(container, HomeFeed) == 0
    created = [j.payload for j in await jobs_of(container, "statuses.created")]
    assert sum(1 for p in created if p.get("quiet")) == 3


async def test_context_collection_is_preferred_and_capped(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    base = remote.origin()
    context = f"{base}/contexts/1"
    root = f"{bob}/statuses/1"
    remote.note(bob, 1, "root", context=context, replies=f"{root}/replies")
    ids = [f"{bob}/statuses/{n}" for n in range(2, 10_002)]
    for number in range(2, 40):
        remote.note(bob, number, f"reply {number}", inReplyTo=root, context=context)
    # A context of 10,000 items (Create activities, as FEP-f228 allows) on pages whose `next`
    # never ends: the walk stops at the post cap.
    _collection(remote, context, [{"type": "Create", "object": i} for i in ids], next_url=f"{context}/page")
    known = await dereference.fetch_note(container, root)
    assert known is not None
    walk = await backfill.backfill_thread(container, known, backfill.Limits(posts=25))
    assert walk.posts == 25 and walk.stored == 25
    assert len(await _uris(container)) == 25
    assert remote.hits[f"{root}/replies"] == 0  # the posts were spent on the context
    assert remote.hits[f"{context}/page"] == 1


async def test_endless_and_looping_pages_stop(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    root = f"{bob}/statuses/1"
    remote.note(bob, 1, "root", replies=f"{root}/replies")
    remote.docs[f"{root}/replies"] = {
        "id": f"{root}/replies",
        "type": "Collection",
        "first": f"{root}/replies/p0",
    }
    for n in range(200):  # a chain of empty pages longer than any budget
        remote.docs[f"{root}/replies/p{n}"] = {
            "id": f"{root}/replies/p{n}",
            "type": "CollectionPage",
            "items": [],
            "next": f"{root}/replies/p{n + 1}",
        }
    known = await dereference.fetch_note(container, root)
    assert known is not None
    walk = await backfill.backfill_thread(container, known, backfill.Limits(pages=10))
    assert walk.pages == 10
    assert sum(remote.hits[f"{root}/replies/p{n}"] for n in range(200)) == 9

    # Two pages naming each other: each read once.
    other = f"{bob}/statuses/2"
    remote.note(bob, 2, "other", replies=f"{other}/replies")
    remote.docs[f"{other}/replies"] = {"id": f"{other}/replies", "type": "Collection", "first": f"{other}/a"}
    remote.docs[f"{other}/a"] = {
        "id": f"{other}/a",
        "type": "CollectionPage",
        "items": [],
        "next": f"{other}/b",
    }
    remote.docs[f"{other}/b"] = {
        "id": f"{other}/b",
        "type": "CollectionPage",
        "items": [],
        "next": f"{other}/a",
    }
    other_known = await dereference.fetch_note(container, other)
    assert other_known is not None
    await backfill.backfill_thread(container, other_known)
    assert remote.hits[f"{other}/a"] == 1 and remote.hits[f"{other}/b"] == 1


async def test_deep_replies_stop_at_the_depth_cap(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    uris = [f"{bob}/statuses/{n}" for n in range(1, 12)]
    for n in range(len(uris)):
        extra = {"inReplyTo": uris[n - 1]} if n else {}
        _note_with_replies(remote, bob, n + 1, uris[n + 1 : n + 2], **extra)
    known = await dereference.fetch_note(container, uris[0])
    assert known is not None
    await backfill.backfill_thread(container, known, backfill.Limits(depth=4))
    assert await _uris(container) == set(uris[:5])


async def test_thread_request_is_once_an_hour(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    remote.note(bob, 1, "root")
    status = await dereference.fetch_note(container, f"{bob}/statuses/1")
    assert status is not None
    for _ in range(3):
        async with container.db.uow() as uow:
            await requests.request_thread(uow, status.id)
    assert len(await jobs_of(container, requests.THREAD_JOB)) == 1


def _outbox(remote: FakeRemote, bob: str) -> None:
    """bob's outbox: 23 posts on the first page (one followers-only, one boost among them)."""
    outbox = f"{bob}/outbox"

    def create(n: int, to: list[str], cc: list[str]) -> dict[str, Any]:
        note = remote.note(bob, n, f"post {n}", to=to, cc=cc)
        return {
            "id": f"{note['id']}/activity",
            "type": "Create",
            "actor": bob,
            "to": to,
            "cc": cc,
            "object": note,
        }

    items: list[Any] = [create(n, [PUBLIC], [f"{bob}/followers"]) for n in range(1, 24)]
    items[1] = create(2, [f"{bob}/followers"], [])  # followers only: left
    items[2] = create(3, [f"{bob}/followers"], [PUBLIC])  # unlisted: kept
    items[3] = {
        "id": f"{bob}/boost/1",
        "type": "Announce",
        "actor": bob,
        "to": [PUBLIC],
        "object": f"{bob}/x",
    }
    remote.docs[outbox] = {
        "id": outbox,
        "type": "OrderedCollection",
        "totalItems": 23,
        "first": {"type": "OrderedCollectionPage", "orderedItems": items, "next": f"{outbox}/2"},
    }


async def test_an_account_looked_up_here_gets_its_outbox_first_page(
    container: Container, remote: FakeRemote, client: Any, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = remote.actor("bob")
    _outbox(remote, bob)
    query = {"q": f"@bob@remote.test:{remote.port}", "resolve": "true"}
    found = (await client.get("/api/v2/search", params=query, headers=alice.headers)).json()
    [account] = found["accounts"]
    assert len(await jobs_of(container, requests.PROFILE_JOB)) == 1
    # Looked up or opened again: not asked again.
    await client.get("/api/v2/search", params=query, headers=alice.headers)
    profile = f"/api/v1/accounts/{account['id']}/statuses"
    assert (await client.get(profile, headers=alice.headers)).json() == []
    assert len(await jobs_of(container, requests.PROFILE_JOB)) == 1
    await run_jobs(container)
    expected = {f"{bob}/statuses/{n}" for n in range(1, 21)} - {f"{bob}/statuses/2", f"{bob}/statuses/4"}
    assert await _uris(container) == expected
    shown = (await client.get(profile, params={"limit": 40}, headers=alice.headers)).json()
    assert {s["uri"] for s in shown} == expected
    assert remote.hits[f"{bob}/outbox/2"] == 0 and remote.hits[f"{bob}/x"] == 0
    assert await _count(container, HomeFeed) == 0


async def test_an_account_met_otherwise_is_backfilled_when_its_profile_is_opened(
    container: Container, remote: FakeRemote, client: Any, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = remote.actor("bob")
    _outbox(remote, bob)
    remote.note(bob, 100, "boosted")
    # The author of a fetched post (a boost, a parent) is not backfilled for that alone.
    assert await dereference.fetch_note(container, f"{bob}/statuses/100") is not None
    assert await jobs_of(container, requests.PROFILE_JOB) == []
    async with container.db.uow(write=False) as uow:
        account_id = (await uow.session.execute(select(Account.id).where(Account.uri == bob))).scalar_one()
    profile = f"/api/v1/accounts/{account_id}/statuses"
    assert len((await client.get(profile, headers=alice.headers)).json()) == 1
    await run_jobs(container)
    assert len((await client.get(profile, params={"limit": 40}, headers=alice.headers)).json()) == 19
    assert len(await jobs_of(container, requests.PROFILE_JOB)) == 1


async def test_local_thread_with_remote_replies_is_completed_from_the_api(
    container: Container, remote: FakeRemote, client: Any, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = remote.actor("bob")
    carol = remote.actor("carol", host="other.test")
    posted = await client.post("/api/v1/statuses", data={"status": "root"}, headers=alice.headers)
    root = posted.json()["uri"]
    # bob's reply reached us; carol's answer to it went to bob's server only, and dave's
    # answer to carol's is on carol's server only.
    r1, r2, r3 = f"{bob}/statuses/1", f"{carol}/statuses/2", f"{carol}/statuses/3"
    _note_with_replies(remote, bob, 1, [r2], inReplyTo=root)
    _note_with_replies(remote, carol, 2, [r3], inReplyTo=r1)
    _note_with_replies(remote, carol, 3, [], inReplyTo=r2)
    assert await dereference.fetch_note(container, r1) is not None
    assert await _uris(container) == {root, r1}

    context = f"/api/v1/statuses/{posted.json()['id']}/context"
    assert len((await client.get(context, headers=alice.headers)).json()["descendants"]) == 1
    await run_jobs(container)
    assert len((await client.get(context, headers=alice.headers)).json()["descendants"]) == 3
    assert len(await jobs_of(container, requests.THREAD_JOB)) == 1  # once within the hour
    assert await _count(container, Notification) == 0


async def test_a_context_collection_is_completed_by_the_replies(
    container: Container, remote: FakeRemote
) -> None:
    bob = remote.actor("bob")
    carol = remote.actor("carol", host="other.test")
    root = f"{bob}/statuses/1"
    context = f"{remote.origin()}/contexts/1"
    r1, r2 = f"{bob}/statuses/2", f"{carol}/statuses/3"
    _collection(remote, context, [root, r1])  # bob's server does not know carol's answer
    _note_with_replies(remote, bob, 1, [r1], context=context)
    _note_with_replies(remote, bob, 2, [], inReplyTo=root, context=context)
    remote.docs[f"{r1}/replies"]["orderedItems"] = []
    remote.docs[f"{r1}/replies/page"]["orderedItems"] = [r2]
    _note_with_replies(remote, carol, 3, [], inReplyTo=r1)
    known = await dereference.fetch_note(container, root)
    assert known is not None
    walk = await backfill.backfill_thread(container, known)
    assert await _uris(container) == {root, r1, r2}
    assert remote.hits[context] == 1 and remote.hits[r1] == 1  # each read once
    assert walk.posts == 3


async def test_a_thread_reaching_higher_than_known_is_linked_and_walked_from_its_top(
    container: Container, remote: FakeRemote
) -> None:
    bob = remote.actor("bob")
    chain = [f"{bob}/statuses/{n}" for n in range(1, 9)]
    side = f"{bob}/statuses/20"
    for n in range(len(chain)):
        below = chain[n + 1 : n + 2] + ([side] if n == 0 else [])
        extra = {"inReplyTo": chain[n - 1]} if n else {}
        _note_with_replies(remote, bob, n + 1, below, **extra)
    _note_with_replies(remote, bob, 20, [], inReplyTo=chain[0])
    # The last post came with only two of its parents: the third one knew no parent here.
    last = await dereference.fetch_note(container, chain[7], max_depth=2)
    assert last is not None
    orphan = await _status(container, chain[5])
    assert orphan.in_reply_to_id is None
    await backfill.backfill_thread(container, orphan)
    assert await _uris(container) == {*chain, side}
    linked = {uri: await _status(container, uri) for uri in (*chain, side)}
    for parent, child in itertools.pairwise(chain):
        assert linked[child].in_reply_to_id == linked[parent].id
    assert len({s.conversation_id for s in linked.values()}) == 1
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(StatusStats, linked[chain[4]].id)
    assert stats is not None and stats.replies_count == 1


async def test_default_caps_hold_posts_and_time(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    context = f"{remote.origin()}/contexts/9"
    root = f"{bob}/statuses/1"
    remote.note(bob, 1, "root", context=context)
    _collection(remote, context, [f"{bob}/statuses/{n}" for n in range(2, 10_002)])
    known = await dereference.fetch_note(container, root)
    assert known is not None
    walk = await backfill.backfill_thread(container, known)
    asked = sum(n for url, n in remote.hits.items() if "/statuses/" in url)
    assert walk.posts == backfill.MAX_POSTS and asked == backfill.MAX_POSTS + 1  # the root twice

    # A server that answers slowly: the walk stops at its time limit, what it stored stays.
    async def slow(request: Any) -> None:
        await asyncio.sleep(0.2)

    remote.on_request = slow
    started = asyncio.get_running_loop().time()
    walk = await backfill.backfill_thread(container, known, backfill.Limits(seconds=1.0))
    assert asyncio.get_running_loop().time() - started < 2.0
    assert 0 < walk.posts < 10
