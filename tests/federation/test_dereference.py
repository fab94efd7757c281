"""Fetching actors and posts from a (fake) remote server on 127.0.0.1, and what gets stored."""

from __future__ import annotations

from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.federation import dereference
from tests.federation import remote_fixtures
from tests.federation.remote_docs import FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


async def _count(container: Container, model: type) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_webfinger_and_fetch_actor(container: Container, remote: FakeRemote) -> None:
    uri = remote.actor("bob")
    found = await dereference.webfinger(container, "bob", f"remote.test:{remote.port}")
    assert found == uri
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and account.uri == uri
    assert account.username == "bob" and account.domain == f"remote.test:{remote.port}"
    assert "<script>" not in account.note and "hello" in account.note
    assert account.public_key_id == f"{uri}#main-key"
    # Fresh for a day: no second fetch; refresh=True fetches again.
    await dereference.fetch_actor(container, uri)
    assert remote.hits[uri] == 1
    await dereference.fetch_actor(container, uri, refresh=True)
    assert remote.hits[uri] == 2


async def test_unknown_handle_and_missing_actor_store_nothing(
    container: Container, remote: FakeRemote
) -> None:
    assert await dereference.webfinger(container, "nobody", f"remote.test:{remote.port}") is None
    assert await dereference.fetch_actor(container, f"{remote.origin()}/users/nobody") is None
    assert await _count(container, Account) == 0


async def test_actor_served_under_another_origin_is_refused(container: Container, remote: FakeRemote) -> None:
    """Checklist 34: a document whose id is on another host than its URL is discarded."""
    real = remote.actor("eve", host="other.test")
    remote.docs[f"{remote.origin()}/users/eve"] = remote.docs[real]
    assert await dereference.fetch_actor(container, f"{remote.origin()}/users/eve") is None
    assert await _count(container, Account) == 0


async def test_fetch_note_stores_author_and_note_once(container: Container, remote: FakeRemote) -> None:
    bob = remote.actor("bob")
    doc = remote.note(bob, 1, "first <b>post</b>", url=f"{remote.origin('other.test')}/elsewhere")
    status = await dereference.fetch_note(container, doc["id"])
    assert status is not None and status.uri == doc["id"]
    assert status.url is None  # checklist 30: a url on another host is dropped
    assert status.visibility == "public" and "first" in status.content
    again = await dereference.fetch_note(container, doc["id"])
    assert again is not None and again.id == status.id
    assert remote.hits[doc["id"]] == 1
    assert await _count(container, Status) == 1


async def test_note_by_author_of_another_origin_is_refused(container: Container, remote: FakeRemote) -> None:
    eve = remote.actor("eve", host="other.test")
    doc = remote.note(f"{remote.origin()}/users/ghost", 1)
    doc["attributedTo"] = eve
    assert await dereference.fetch_note(container, doc["id"]) is None
    assert await _count(container, Status) == 0


async def test_reply_chain_is_fetched_to_depth_five(container: Container, remote: FakeRemote) -> None:
    """Checklist 44: a chain of 7 is followed up to 5 parents; the job ends."""
    bob = remote.actor("bob")
    previous: str | None = None
    ids = []
    for number in range(1, 8):
        doc = remote.note(bob, number, f"n{number}", **({"inReplyTo": previous} if previous else {}))
        previous = doc["id"]
        ids.append(doc["id"])
    status = await dereference.fetch_note(container, ids[-1])
    assert status is not None
    async with container.db.uow(write=False) as uow:
        stored = set((await uow.session.execute(select(Status.uri))).scalars())
        parent = (await uow.session.execute(select(Status).where(Status.uri == ids[-2]))).scalar_one()
    assert stored == set(ids[1:])
    assert ids[0] not in stored and remote.hits[ids[0]] == 0
    assert status.in_reply_to_id == parent.id


async def test_reply_cycle_terminates(container: Container, remote: FakeRemote) -> None:
    """Checklist 45: A -> B -> A stops; each stored once."""
    bob = remote.actor("bob")
    a = remote.note(bob, "a", "A", inReplyTo=f"{bob}/statuses/b")
    b = remote.note(bob, "b", "B", inReplyTo=a["id"])
    status = await dereference.fetch_note(container, a["id"])
    assert status is not None
    assert remote.hits[a["id"]] == 1 and remote.hits[b["id"]] == 1
    assert await _count(container, Status) == 2
