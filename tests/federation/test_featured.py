"""A remote actor's pinned posts and featured tags: read from its `featured` and `featuredTags`
collections by the `federation.fetch_featured` job, kept current by its `Add` and `Remove`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status, StatusPin
from kinfolk.domain.tags import service as tags
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, load_handlers
from kinfolk.federation.featured import FETCH_FEATURED, fetch_featured
from kinfolk.federation.parse.activity import parse_activity
from kinfolk.jobs.context import JobContext, JobUnitOfWork
from kinfolk.jobs.models import Job
from tests.federation import remote_fixtures
from tests.federation.remote_docs import FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


Deliver = Callable[[Account, dict[str, Any]], Awaitable[str | None]]


@pytest.fixture
def deliver(container: Container) -> Deliver:
    handlers = load_handlers()

    async def run(actor: Account, raw: dict[str, Any]) -> str | None:
        activity = parse_activity(raw)
        async with JobUnitOfWork(container.db) as uow:
            job = JobContext(container, uow, 0, "federation.ingress", "ingress", 1, 5, "test")
            return await handlers[activity.type](IngressContext(job=job, actor=actor, raw=raw), activity)

    return run


async def run_fetch(container: Container, account_id: int) -> None:
    async with JobUnitOfWork(container.db) as uow:
        job = JobContext(container, uow, 0, FETCH_FEATURED, "pull", 1, 3, "test")
        await fetch_featured(job, {"account_id": account_id})


async def pins(container: Container, account_id: int) -> set[str]:
    async with container.db.uow(write=False) as uow:
        found = await uow.session.execute(
            select(Status.uri)
            .join(StatusPin, StatusPin.status_id == Status.id)
            .where(StatusPin.account_id == account_id)
        )
        return {uri for uri in found.scalars() if uri}


async def featured_names(container: Container, account_id: int) -> set[str]:
    async with container.db.uow(write=False) as uow:
        _, views = await tags.featured_of_account(uow.session, account_id)
        return {view.tag.name for view in views}


def featured_actor(remote: FakeRemote, name: str) -> str:
    uri = remote.actor(name)
    remote.docs[uri]["featured"] = f"{uri}/collections/featured"
    remote.docs[uri]["featuredTags"] = f"{uri}/collections/tags"
    return uri


async def test_featured_collections_become_pins_and_tags(container: Container, remote: FakeRemote) -> None:
    uri = featured_actor(remote, "pinner")
    embedded = remote.note(uri, 1, "pinned one")
    remote.note(uri, 2, "pinned two")
    other = remote.actor("other")
    foreign = remote.note(other, 9, "someone else's")
    remote.docs[f"{uri}/collections/featured"] = {
        "id": f"{uri}/collections/featured",
        "type": "OrderedCollection",
        "totalItems": 3,
        "orderedItems": [embedded, f"{uri}/statuses/2", foreign["id"]],
    }
    remote.docs[f"{uri}/collections/tags"] = {
        "id": f"{uri}/collections/tags",
        "type": "Collection",
        "totalItems": 3,
        "items": [
            {"type": "Hashtag", "href": "http://remote.test/tags/cats", "name": "#Cats"},
            {"type": "Hashtag", "name": "dogs"},
            {"type": "Hashtag", "name": "#not a tag!"},
        ],
    }
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and account.featured_tags_url == f"{uri}/collections/tags"
    async with container.db.uow(write=False) as uow:
        queued = (await uow.session.execute(select(Job.payload).where(Job.kind == FETCH_FEATURED))).scalars()
        assert [dict(p) for p in queued] == [{"account_id": account.id}]

    await run_fetch(container, account.id)
    assert await pins(container, account.id) == {embedded["id"], f"{uri}/statuses/2"}
    assert await featured_names(container, account.id) == {"cats", "dogs"}

    # The collections change: the pins and tags follow them.
    remote.docs[f"{uri}/collections/featured"]["orderedItems"] = [f"{uri}/statuses/2"]
    remote.docs[f"{uri}/collections/tags"]["items"] = [{"type": "Hashtag", "name": "#birds"}]
    await run_fetch(container, account.id)
    assert await pins(container, account.id) == {f"{uri}/statuses/2"}
    assert await featured_names(container, account.id) == {"birds"}


async def test_unreadable_collection_keeps_what_was_pinned(container: Container, remote: FakeRemote) -> None:
    uri = featured_actor(remote, "flaky")
    remote.note(uri, 1)
    remote.docs[f"{uri}/collections/featured"] = {
        "id": f"{uri}/collections/featured",
        "type": "OrderedCollection",
        "orderedItems": [f"{uri}/statuses/1"],
    }
    account = await dereference.fetch_actor(container, uri)
    assert account is not None
    await run_fetch(container, account.id)
    assert await pins(container, account.id) == {f"{uri}/statuses/1"}
    del remote.docs[f"{uri}/collections/featured"]
    await run_fetch(container, account.id)
    assert await pins(container, account.id) == {f"{uri}/statuses/1"}


async def test_add_and_remove_keep_pins_and_tags_current(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    uri = featured_actor(remote, "adder")
    remote.note(uri, 1)
    other = remote.actor("someone")
    remote.note(other, 5)
    account = await dereference.fetch_actor(container, uri)
    assert account is not None
    featured = f"{uri}/collections/featured"

    def act(kind: str, obj: Any, target: str, n: int) -> dict[str, Any]:
        return {"id": f"{uri}#{kind}/{n}", "type": kind, "actor": uri, "object": obj, "target": target}

    assert await deliver(account, act("Add", f"{uri}/statuses/1", featured, 1)) is None
    assert await pins(container, account.id) == {f"{uri}/statuses/1"}
    # Another's post, or another collection: nothing is pinned.
    assert await deliver(account, act("Add", f"{other}/statuses/5", featured, 2)) is not None
    assert await deliver(account, act("Add", f"{uri}/statuses/1", f"{uri}/collections/other", 3)) is not None
    assert await pins(container, account.id) == {f"{uri}/statuses/1"}
    # Someone else cannot unpin it.
    someone = await dereference.fetch_actor(container, other)
    assert someone is not None
    assert await deliver(someone, act("Remove", f"{uri}/statuses/1", featured, 4)) is not None
    assert await pins(container, account.id) == {f"{uri}/statuses/1"}
    assert await deliver(account, act("Remove", f"{uri}/statuses/1", featured, 5)) is None
    assert await pins(container, account.id) == set()

    tag = {"type": "Hashtag", "href": "http://remote.test/tags/frogs", "name": "#frogs"}
    assert await deliver(account, act("Add", tag, featured, 6)) is None
    assert await featured_names(container, account.id) == {"frogs"}
    assert await deliver(account, act("Remove", tag, featured, 7)) is None
    assert await featured_names(container, account.id) == set()
