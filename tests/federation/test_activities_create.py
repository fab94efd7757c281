"""Create, Update and Delete handlers called with a constructed IngressContext (the inbox
endpoint lives on another branch): each checklist case asserts what is (not) stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Status, StatusEdit, Tombstone
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, load_handlers
from kinfolk.federation.parse.activity import parse_activity
from kinfolk.jobs.context import JobContext, JobUnitOfWork
from tests.federation import remote_fixtures
from tests.federation.remote_docs import PUBLIC, FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


Deliver = Callable[[Account, dict[str, Any]], Awaitable[None]]


@pytest.fixture
def deliver(container: Container) -> Deliver:
    """Runs an activity through its handler as the ingress job would, signed by `actor`."""
    handlers = load_handlers()

    async def run(actor: Account, raw: dict[str, Any]) -> None:
        activity = parse_activity(raw)
        async with JobUnitOfWork(container.db) as uow:
            job = JobContext(container, uow, 0, "federation.ingress", "ingress", 1, 5, "test")
            await handlers[activity.type](IngressContext(job=job, actor=actor, raw=raw), activity)

    return run


def activity(kind: str, actor: str, obj: Any, number: int = 1) -> dict[str, Any]:
    return {"id": f"{actor}/activities/{kind}/{number}", "type": kind, "actor": actor, "object": obj}


async def statuses(container: Container) -> list[Status]:
    async with container.db.uow(write=False) as uow:
        return list((await uow.session.execute(select(Status).order_by(Status.id))).scalars())


async def actor(container: Container, remote: FakeRemote, name: str, host: str = "remote.test") -> Account:
    found = await dereference.fetch_actor(container, remote.actor(name, host=host))
    assert found is not None
    return found


async def test_create_stores_embedded_note(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    bob = await actor(container, remote, "bob")
    note = remote.note(bob.uri or "", 1, "hello")
    await deliver(bob, activity("Create", bob.uri or "", note))
    [status] = await statuses(container)
    assert status.uri == note["id"] and status.account_id == bob.id and "hello" in status.content
    # A repeat stores nothing more.
    await deliver(bob, activity("Create", bob.uri or "", note, 2))
    assert len(await statuses(container)) == 1


async def test_create_of_object_on_another_origin_is_dropped(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklist 22."""
    eve = await actor(container, remote, "eve")
    bob_other = remote.actor("bob", host="other.test")
    note = remote.note(bob_other, 1, "forged")
    note["attributedTo"] = eve.uri
    await deliver(eve, activity("Create", eve.uri or "", note))
    assert await statuses(container) == []
    assert remote.hits[note["id"]] == 0


async def test_forwarded_looking_create_is_refetched(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklist 23: the embedded copy's content is ignored; what the origin serves is stored."""
    eve = await actor(container, remote, "eve")
    bob = remote.actor("bob")
    real = remote.note(bob, 1, "the real text")
    forged = {**real, "content": "<p>altered</p>"}
    await deliver(eve, activity("Create", eve.uri or "", forged))
    [status] = await statuses(container)
    assert "the real text" in status.content and "altered" not in status.content
    assert status.account_id != eve.id


async def test_create_of_someone_elses_uri_changes_nothing(
    container: Container, remote: FakeRemote, deliver: Deliver, make_user: Any
) -> None:
    """Checklist 32: an existing status's id with new recipients: no mention, no visibility change."""
    await make_user("alice")
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    note = remote.note(bob.uri or "", 1, "mine", to=[f"{bob.uri}/followers"], cc=[])
    await deliver(bob, activity("Create", bob.uri or "", note))
    hijack = {**note, "attributedTo": eve.uri, "to": [PUBLIC], "cc": [container.uris.actor("alice")]}
    await deliver(eve, activity("Create", eve.uri or "", hijack))
    [status] = await statuses(container)
    assert status.account_id == bob.id and status.visibility == "private"
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(func.count()).select_from(Notification))).scalar_one() == 0


@pytest.mark.parametrize(
    ("to", "cc", "expected"),
    [
        ([PUBLIC], [], "public"),
        ([], [PUBLIC], "unlisted"),
        (["{followers}"], [], "private"),
        (["{alice}"], [], "direct"),
    ],
)
async def test_visibility_from_the_audience(
    container: Container,
    remote: FakeRemote,
    deliver: Deliver,
    make_user: Any,
    to: list[str],
    cc: list[str],
    expected: str,
) -> None:
    await make_user("alice")
    bob = await actor(container, remote, "bob")
    names = {"followers": f"{bob.uri}/followers", "alice": container.uris.actor("alice")}
    note = remote.note(
        bob.uri or "", 1, "x", to=[t.format(**names) for t in to], cc=[c.format(**names) for c in cc]
    )
    await deliver(bob, activity("Create", bob.uri or "", note))
    [status] = await statuses(container)
    assert status.visibility == expected


async def test_mention_of_a_local_account_notifies(
    container: Container, remote: FakeRemote, deliver: Deliver, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    bob = await actor(container, remote, "bob")
    alice_uri = container.uris.actor("alice")
    note = remote.note(
        bob.uri or "",
        1,
        "hi @alice",
        cc=[alice_uri],
        tag=[
            {"type": "Mention", "href": alice_uri, "name": "@alice"},
            {"type": "Hashtag", "name": "#Kinfolk", "href": "https://remote.test/tags/kinfolk"},
        ],
    )
    await deliver(bob, activity("Create", bob.uri or "", note))
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(Notification.account_id, Notification.type))).all()
    assert (alice.account_id, "mention") in [tuple(r) for r in rows]


async def test_update_only_by_author_and_only_newer(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklists 24 and 80, and an edit recorded with history."""
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    note = remote.note(bob.uri or "", 1, "v1")
    await deliver(bob, activity("Create", bob.uri or "", note))
    v2 = {**note, "content": "<p>v2</p>", "updated": "2026-02-01T00:00:00Z"}
    await deliver(eve, activity("Update", eve.uri or "", {**v2, "content": "<p>eve</p>"}))
    [status] = await statuses(container)
    assert "v1" in status.content
    await deliver(bob, activity("Update", bob.uri or "", v2, 2))
    older = {**note, "content": "<p>old</p>", "updated": "2026-01-15T00:00:00Z"}
    await deliver(bob, activity("Update", bob.uri or "", older, 3))
    [status] = await statuses(container)
    assert "v2" in status.content and status.edited_at == datetime(2026, 2, 1, tzinfo=UTC)
    async with container.db.uow(write=False) as uow:
        edits = list(
            (await uow.session.execute(select(StatusEdit.content).order_by(StatusEdit.id))).scalars()
        )
    assert len(edits) == 2 and "v1" in edits[0] and "v2" in edits[1]


async def test_first_edit_in_the_second_of_publishing(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Timestamps travel in whole seconds: a first edit stamped with the second the post was
    published in is still an edit (Mastodon compares only with the last edit)."""
    bob = await actor(container, remote, "bob")
    note = remote.note(bob.uri or "", 1, "v1")
    await deliver(bob, activity("Create", bob.uri or "", note))
    same_second = {**note, "content": "<p>v2</p>", "updated": note["published"]}
    await deliver(bob, activity("Update", bob.uri or "", same_second, 2))
    [status] = await statuses(container)
    assert "v2" in status.content and status.edited_at is not None
    again = {**note, "content": "<p>v3</p>", "updated": note["published"]}
    await deliver(bob, activity("Update", bob.uri or "", again, 3))
    [status] = await statuses(container)
    assert "v2" in status.content


async def test_update_of_actor(container: Container, remote: FakeRemote, deliver: Deliver) -> None:
    """Checklists 26 (only itself) and 21 (the key is not replaced by an Update)."""
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    changed = {**remote.docs[bob.uri or ""], "name": "Robert"}
    await deliver(eve, activity("Update", eve.uri or "", changed))
    new_key = {
        **changed["publicKey"],
        "publicKeyPem": changed["publicKey"]["publicKeyPem"].replace("MII", "XXX"),
    }
    await deliver(bob, activity("Update", bob.uri or "", {**changed, "publicKey": new_key}, 2))
    async with container.db.uow(write=False) as uow:
        stored = await uow.session.get(Account, bob.id)
    assert stored is not None and stored.display_name == "Robert"
    assert stored.public_key_pem == bob.public_key_pem


async def test_delete_only_by_author_then_tombstoned(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklists 25 and 79."""
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    note = remote.note(bob.uri or "", 1, "doomed")
    await deliver(bob, activity("Create", bob.uri or "", note))
    await deliver(eve, activity("Delete", eve.uri or "", note["id"]))
    [status] = await statuses(container)
    assert status.deleted_at is None
    await deliver(bob, activity("Delete", bob.uri or "", {"id": note["id"], "type": "Tombstone"}, 2))
    [status] = await statuses(container)
    assert status.deleted_at is not None
    async with container.db.uow(write=False) as uow:
        assert await uow.session.get(Tombstone, note["id"]) is not None


async def test_delete_before_create_stores_nothing(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklist 79."""
    bob = await actor(container, remote, "bob")
    note = remote.note(bob.uri or "", 1, "late")
    await deliver(bob, activity("Delete", bob.uri or "", note["id"]))
    await deliver(bob, activity("Create", bob.uri or "", note, 2))
    assert await statuses(container) == []
    assert await dereference.fetch_note(container, note["id"]) is None


async def test_delete_of_actor_removes_its_things(
    container: Container, remote: FakeRemote, deliver: Deliver, make_user: Any
) -> None:
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    note = remote.note(bob.uri or "", 1, "bye")
    await deliver(bob, activity("Create", bob.uri or "", note))
    await deliver(eve, activity("Delete", eve.uri or "", bob.uri))
    [status] = await statuses(container)
    assert status.deleted_at is None
    await deliver(bob, activity("Delete", bob.uri or "", bob.uri, 2))
    [status] = await statuses(container)
    assert status.deleted_at is not None
    async with container.db.uow(write=False) as uow:
        stored = await uow.session.get(Account, bob.id)
    assert stored is not None and stored.suspended_at is not None


async def test_delete_of_actor_as_a_tombstone_ends_its_follows_and_counts(
    container: Container, remote: FakeRemote, deliver: Deliver, make_user: Any
) -> None:
    """The object may be the actor's id or a `Tombstone` of it (as some servers send)."""
    alice = await make_user("alice")
    bob = await actor(container, remote, "bob")
    alice_uri = container.uris.actor("alice")
    await deliver(bob, activity("Follow", bob.uri or "", alice_uri))
    note = remote.note(bob.uri or "", 1, "bye")
    await deliver(bob, activity("Create", bob.uri or "", note))
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, alice.account_id)
        assert stats is not None and stats.followers_count == 1
    await deliver(bob, activity("Delete", bob.uri or "", {"id": bob.uri, "type": "Tombstone"}, 2))
    [status] = await statuses(container)
    assert status.deleted_at is not None
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, alice.account_id)
        assert stats is not None and stats.followers_count == 0
        follows = (await uow.session.execute(select(func.count()).select_from(Follow))).scalar_one()
        stored = await uow.session.get(Account, bob.id)
    assert follows == 0
    assert stored is not None and stored.deleted_at is not None and stored.public_key_pem == ""


async def test_delete_of_someone_elses_post_is_checked_at_its_origin(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Checklist 25 the safe way: eve's Delete of bob's note is applied only once bob's server
    answers 404 for it; until then nothing changes."""
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve", host="other.test")
    note = remote.note(bob.uri or "", 1, "doomed")
    await deliver(bob, activity("Create", bob.uri or "", note))
    await deliver(eve, activity("Delete", eve.uri or "", note["id"]))
    [status] = await statuses(container)
    assert status.deleted_at is None and remote.hits[note["id"]] == 1
    del remote.docs[note["id"]]
    await deliver(eve, activity("Delete", eve.uri or "", note["id"], 2))
    [status] = await statuses(container)
    assert status.deleted_at is not None and status.account_id == bob.id
    async with container.db.uow(write=False) as uow:
        assert await uow.session.get(Tombstone, note["id"]) is not None


async def test_update_of_someone_elses_post_applies_the_origins_version(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    bob = await actor(container, remote, "bob")
    eve = await actor(container, remote, "eve")
    note = remote.note(bob.uri or "", 1, "v1")
    await deliver(bob, activity("Create", bob.uri or "", note))
    remote.docs[note["id"]] = {**note, "content": "<p>v2</p>", "updated": "2026-02-01T00:00:00Z"}
    forged = {**note, "content": "<p>eve</p>", "updated": "2026-03-01T00:00:00Z"}
    await deliver(eve, activity("Update", eve.uri or "", forged))
    [status] = await statuses(container)
    assert "v2" in status.content and "eve" not in status.content
    assert status.edited_at == datetime(2026, 2, 1, tzinfo=UTC)
    # A bare id is looked up at the origin too; nothing newer there, nothing changes.
    await deliver(eve, activity("Update", eve.uri or "", note["id"], 2))
    [status] = await statuses(container)
    assert "v2" in status.content


async def test_a_groups_announce_of_a_create_boosts_the_post_fetched_from_its_origin(
    container: Container, remote: FakeRemote, deliver: Deliver
) -> None:
    """Lemmy communities announce their members' activities: the Create's object is boosted
    as its origin serves it (never as embedded), and an announced vote is no boost at all."""
    bob = await actor(container, remote, "bob")
    group = await actor(container, remote, "main")
    note = remote.note(bob.uri or "", 1, "the real post")
    created = activity("Create", bob.uri or "", {**note, "content": "<p>forged</p>"})
    announce = activity("Announce", group.uri or "", created)
    announce["to"] = [PUBLIC]
    await deliver(group, announce)
    original, boost = await statuses(container)
    assert (
        original.uri == note["id"]
        and "the real post" in original.content
        and "forged" not in original.content
    )
    assert boost.account_id == group.id and boost.reblog_of_id == original.id
    assert boost.visibility == "public"

    vote = activity("Announce", group.uri or "", activity("Like", bob.uri or "", note["id"]), number=2)
    await deliver(group, vote)
    assert len(await statuses(container)) == 2
