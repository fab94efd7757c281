"""Polls both ways: a remote `Question` kept with its counts and their `Update`s, local votes on
remote polls sent as `Create`s of a `Note` with `name`, remote votes on local polls counted once
per voter and option, the debounced `Update` of the counts, and the poll's end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.notifications.service import notify_poll_ended
from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.activities import IngressContext, load_handlers
from kinfolk.federation.parse.activity import parse_activity
from kinfolk.jobs.context import JobContext, JobUnitOfWork
from kinfolk.kernel.clock import utcnow
from tests.federation.inboxes import (
    Inboxes,
    jobs_of,
    make_due,
    outbox_settings,
    remote_fields,
    run_jobs,
    running_inboxes,
    trust_local_keys,
)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "activitypub"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return outbox_settings(db_url, tmp_path / "data")


@pytest.fixture
async def inboxes() -> AsyncIterator[Inboxes]:
    async with running_inboxes() as running:
        yield running


Deliver = Callable[[Account, dict[str, Any]], Awaitable[str | None]]


@pytest.fixture
def deliver(container: Container) -> Deliver:
    """Runs an activity through its handler as the ingress job would, from `actor`."""
    handlers = load_handlers()

    async def run(actor: Account, raw: dict[str, Any]) -> str | None:
        activity = parse_activity(raw)
        async with JobUnitOfWork(container.db) as uow:
            job = JobContext(container, uow, 0, "federation.ingress", "ingress", 1, 5, "test")
            return await handlers[activity.type](IngressContext(job=job, actor=actor, raw=raw), activity)

    return run


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def question(author: Account, number: int, counts: list[int], **extra: Any) -> dict[str, Any]:
    uri = f"{author.uri}/statuses/{number}"
    return {
        "id": uri,
        "type": "Question",
        "attributedTo": author.uri,
        "content": "<p>tea or coffee?</p>",
        "published": iso(timedelta(minutes=-1)),
        "to": [PUBLIC],
        "cc": [f"{author.uri}/followers"],
        "endTime": iso(timedelta(hours=1)),
        "votersCount": sum(counts),
        "oneOf": [
            {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": n}}
            for name, n in zip(["tea", "coffee"], counts, strict=True)
        ],
        **extra,
    }


def activity(kind: str, actor: Account, obj: Any, tag: str) -> dict[str, Any]:
    return {"id": f"{actor.uri}#{kind}/{tag}", "type": kind, "actor": actor.uri, "object": obj}


def vote_create(voter: Account, number: int, name: str, question_uri: str, to: str) -> dict[str, Any]:
    note = {
        "id": f"{voter.uri}#votes/{number}",
        "type": "Note",
        "name": name,
        "attributedTo": voter.uri,
        "inReplyTo": question_uri,
        "to": to,
    }
    return activity("Create", voter, note, f"vote-{number}")


async def remote_account(
    container: Container, make_remote_account: Any, inboxes: Inboxes, name: str, host: str
) -> Account:
    account: Account = await make_remote_account(name, host, **await remote_fields(inboxes, host, name))
    return account


async def poll_of(container: Container, status_uri: str) -> Poll:
    async with container.db.uow(write=False) as uow:
        status = (await uow.session.execute(select(Status).where(Status.uri == status_uri))).scalar_one()
        poll = await uow.session.get(Poll, status.poll_id)
        assert poll is not None
        return poll


async def post_poll(
    client: httpx.AsyncClient, user: Any, *, multiple: bool = False, visibility: str = "public"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/statuses",
        headers=user.headers,
        json={
            "status": "which one?",
            "visibility": visibility,
            "poll": {"options": ["red", "blue", "green"], "expires_in": 3600, "multiple": multiple},
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_remote_question_is_stored_with_its_counts_and_updated_by_its_author(
    container: Container,
    client: httpx.AsyncClient,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    doc = question(bob, 1, [3, 5])
    await deliver(bob, activity("Create", bob, doc, "1"))
    poll = await poll_of(container, doc["id"])
    assert poll.options == ["tea", "coffee"] and poll.multiple is False
    assert poll.cached_tallies == [3, 5] and poll.votes_count == 8 and poll.voters_count == 8
    assert poll.expires_at is not None and abs((poll.expires_at - utcnow()) - timedelta(hours=1)) < timedelta(
        seconds=5
    )
    shown = (await client.get(f"/api/v1/polls/{poll.id}")).json()
    assert [o["votes_count"] for o in shown["options"]] == [3, 5] and shown["expired"] is False

    # The author's Update without an edit (Mastodon's shape for new counts) replaces them.
    await deliver(bob, activity("Update", bob, question(bob, 1, [4, 6]), "2"))
    poll = await poll_of(container, doc["id"])
    assert poll.cached_tallies == [4, 6] and poll.votes_count == 10
    # Someone else's Update of it is not believed: the origin is asked (and here serves nothing).
    eve = await remote_account(container, make_remote_account, inboxes, "eve", "other.test")
    await deliver(eve, activity("Update", eve, question(bob, 1, [90, 90]), "3"))
    assert (await poll_of(container, doc["id"])).cached_tallies == [4, 6]

    # Closed: the end is when it closed, and it shows as expired.
    closed_at = iso(timedelta(minutes=-2))
    await deliver(bob, activity("Update", bob, question(bob, 1, [5, 6], closed=closed_at), "4"))
    poll = await poll_of(container, doc["id"])
    assert poll.cached_tallies == [5, 6] and poll.expires_at is not None and poll.expires_at <= utcnow()
    assert (await client.get(f"/api/v1/polls/{poll.id}")).json()["expired"] is True


async def test_multiple_choice_question_keeps_its_voters_count(
    container: Container, make_remote_account: Any, inboxes: Inboxes, deliver: Deliver
) -> None:
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    doc = question(bob, 2, [0, 0])
    doc["anyOf"] = doc.pop("oneOf")
    doc["anyOf"][0]["replies"]["totalItems"] = 7
    doc["anyOf"][1]["replies"]["totalItems"] = 4
    doc["votersCount"] = 9
    await deliver(bob, activity("Create", bob, doc, "1"))
    poll = await poll_of(container, doc["id"])
    assert poll.multiple is True and poll.cached_tallies == [7, 4]
    assert poll.votes_count == 11 and poll.voters_count == 9


async def test_local_vote_on_remote_poll_goes_to_its_author_as_a_note_with_name(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    doc = question(bob, 3, [1, 1])
    await deliver(bob, activity("Create", bob, doc, "1"))
    poll = await poll_of(container, doc["id"])
    await trust_local_keys(container, inboxes)

    response = await client.post(
        f"/api/v1/polls/{poll.id}/votes", headers=alice.headers, json={"choices": [1]}
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    # Counted at once for the voter.
    assert [o["votes_count"] for o in shown["options"]] == [1, 2] and shown["own_votes"] == [1]
    await run_jobs(container)

    [received] = inboxes.received
    assert received.verified and (received.host, received.path) == ("remote.test", "/users/bob/inbox")
    create = received.document
    me = container.uris.actor("alice")
    assert create["type"] == "Create" and create["actor"] == me and create["to"] == bob.uri
    note = create["object"]
    assert note["type"] == "Note" and note["name"] == "coffee"
    assert note["inReplyTo"] == doc["id"] and note["attributedTo"] == me and note["to"] == bob.uri
    assert note["id"].startswith(f"{me}#votes/") and create["id"] == f"{note['id']}/activity"
    # The origin's next counts (with this vote) replace ours.
    await deliver(bob, activity("Update", bob, question(bob, 3, [1, 2]), "2"))
    assert (await poll_of(container, doc["id"])).cached_tallies == [1, 2]


async def _local_poll(container: Container, status: dict[str, Any]) -> Poll:
    async with container.db.uow(write=False) as uow:
        poll = await uow.session.get(Poll, int(status["poll"]["id"]))
        assert poll is not None
        return poll


async def _status_count(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Status))).scalar_one())


async def test_remote_votes_are_counted_once_per_voter_and_sent_back_in_one_update(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    follower = await remote_account(container, make_remote_account, inboxes, "fred", "other.test")
    async with container.db.uow() as uow:
        await relationships.follow(uow, follower, alice.account_id, relationships.FollowOptions())
    status = await post_poll(client, alice)
    uri = status["uri"]
    author_uri = container.uris.actor("alice")
    await run_jobs(container)  # the Create to the follower
    inboxes.received.clear()
    statuses_before = await _status_count(container)

    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    carol = await remote_account(container, make_remote_account, inboxes, "carol", "remote.test")
    assert await deliver(bob, vote_create(bob, 1, "blue", uri, author_uri)) is None
    # The same voter again, on another option or the same: refused (single choice).
    assert await deliver(bob, vote_create(bob, 2, "red", uri, author_uri)) is not None
    assert await deliver(bob, vote_create(bob, 3, "blue", uri, author_uri)) is not None
    assert await deliver(carol, vote_create(carol, 1, "blue", uri, author_uri)) is None
    # A vote claiming another author is no vote of the sender's.
    forged = vote_create(carol, 2, "green", uri, author_uri)
    forged["object"]["attributedTo"] = bob.uri
    assert await deliver(carol, forged) is not None

    poll = await _local_poll(container, status)
    assert poll.cached_tallies == [0, 2, 0] and poll.votes_count == 2 and poll.voters_count == 2
    async with container.db.uow(write=False) as uow:
        uris = set(
            (await uow.session.execute(select(PollVote.uri).where(PollVote.poll_id == poll.id))).scalars()
        )
    assert uris == {f"{bob.uri}#votes/1", f"{carol.uri}#votes/1"}
    # Never a status.
    assert await _status_count(container) == statuses_before
    shown = (await client.get(f"/api/v1/polls/{poll.id}")).json()
    assert [o["votes_count"] for o in shown["options"]] == [0, 2, 0]

    # One Update for the burst, due later.
    [job] = [j for j in await jobs_of(container, "federation.distribute") if j.state == "queued"]
    assert job.payload == {"type": "Update", "object_type": "Question", "status_id": int(status["id"])}
    assert job.run_at > utcnow()
    await trust_local_keys(container, inboxes)
    await make_due(container)
    await run_jobs(container)
    got = sorted((r.host, r.path) for r in inboxes.received)
    # The voters' server and the follower's, shared inboxes, once each.
    assert got == [("other.test", "/inbox"), ("remote.test", "/inbox")]
    for received in inboxes.received:
        document = received.document
        assert received.verified and document["type"] == "Update" and document["actor"] == author_uri
        obj = document["object"]
        assert obj["type"] == "Question" and obj["id"] == uri and obj["votersCount"] == 2
        assert [o["replies"]["totalItems"] for o in obj["oneOf"]] == [0, 2, 0]
        assert "endTime" in obj and "closed" not in obj


async def test_remote_votes_on_multiple_choice_poll_count_each_option_once(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    status = await post_poll(client, alice, multiple=True)
    author_uri = container.uris.actor("alice")
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    assert await deliver(bob, vote_create(bob, 1, "red", status["uri"], author_uri)) is None
    assert await deliver(bob, vote_create(bob, 2, "green", status["uri"], author_uri)) is None
    assert await deliver(bob, vote_create(bob, 3, "green", status["uri"], author_uri)) is not None
    poll = await _local_poll(container, status)
    assert poll.cached_tallies == [1, 0, 1] and poll.votes_count == 2 and poll.voters_count == 1
    # Two votes in one slot: one Update job.
    assert len([j for j in await jobs_of(container, "federation.distribute") if j.state == "queued"]) == 1


async def test_late_or_unseen_votes_are_refused(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    author_uri = container.uris.actor("alice")
    ended = await post_poll(client, alice)
    private = await post_poll(client, alice, visibility="private")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Poll)
            .where(Poll.id == int(ended["poll"]["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    before = await _status_count(container)
    assert await deliver(bob, vote_create(bob, 1, "red", ended["uri"], author_uri)) == "the poll has ended"
    reason = await deliver(bob, vote_create(bob, 2, "red", private["uri"], author_uri))
    assert reason == "the poll is not visible to the voter"
    for status in (ended, private):
        assert (await _local_poll(container, status)).cached_tallies == [0, 0, 0]
    assert await _status_count(container) == before
    assert [j for j in await jobs_of(container, "federation.distribute") if j.state == "queued"] == []


async def test_a_reply_naming_no_option_is_a_post(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    status = await post_poll(client, alice)
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    reply = vote_create(bob, 1, "purple", status["uri"], PUBLIC)
    reply["object"] = {**reply["object"], "id": f"{bob.uri}/statuses/9", "content": "<p>none of these</p>"}
    assert await deliver(bob, reply) is None
    assert (await _local_poll(container, status)).cached_tallies == [0, 0, 0]
    async with container.db.uow(write=False) as uow:
        stored = (
            await uow.session.execute(select(Status).where(Status.uri == f"{bob.uri}/statuses/9"))
        ).scalar_one()
    assert stored.in_reply_to_id == int(status["id"])


async def test_poll_end_notifies_local_voters_of_remote_polls_and_sends_final_counts(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    # A remote poll alice voted on, and carol's local poll bob voted on.
    doc = question(bob, 4, [0, 0])
    await deliver(bob, activity("Create", bob, doc, "1"))
    remote_poll = await poll_of(container, doc["id"])
    response = await client.post(
        f"/api/v1/polls/{remote_poll.id}/votes", headers=alice.headers, json={"choices": [0]}
    )
    assert response.status_code == 200
    local = await post_poll(client, carol)
    await deliver(bob, vote_create(bob, 1, "green", local["uri"], container.uris.actor("carol")))
    await trust_local_keys(container, inboxes)
    await make_due(container)
    await run_jobs(container)
    inboxes.received.clear()

    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Poll)
            .where(Poll.id.in_([remote_poll.id, int(local["poll"]["id"])]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with container.db.uow() as uow:
        assert await notify_poll_ended(uow) == 2
    async with container.db.uow() as uow:
        assert await notify_poll_ended(uow) == 0  # once
    async with container.db.uow(write=False) as uow:
        rows = (
            await uow.session.execute(
                select(Notification.account_id, Notification.status_id).where(Notification.type == "poll")
            )
        ).all()
    assert sorted(rows) == sorted(
        [(alice.account_id, remote_poll.status_id), (carol.account_id, int(local["id"]))]
    )
    # The local poll's final counts go to the voter's server, closed.
    await run_jobs(container)
    [received] = inboxes.received
    obj = received.document["object"]
    assert received.document["type"] == "Update" and obj["id"] == local["uri"]
    assert "closed" in obj and [o["replies"]["totalItems"] for o in obj["oneOf"]] == [0, 0, 1]


async def test_question_render_carries_counts(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    alice = await make_user("alice")
    status = await post_poll(client, alice, multiple=True)
    bob = await remote_account(container, make_remote_account, inboxes, "bob", "remote.test")
    await deliver(bob, vote_create(bob, 1, "blue", status["uri"], container.uris.actor("alice")))
    response = await client.get(
        f"/users/alice/statuses/{status['id']}", headers={"Accept": "application/activity+json"}
    )
    document = response.json()
    assert document["type"] == "Question" and document["votersCount"] == 1
    assert [(o["name"], o["replies"]["totalItems"]) for o in document["anyOf"]] == [
        ("red", 0),
        ("blue", 1),
        ("green", 0),
    ]
    assert document["endTime"].endswith("Z") and "closed" not in document


def fixture(path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / path).read_text())
    return loaded


async def test_mastodons_vote_document_is_counted(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
    deliver: Deliver,
) -> None:
    """A vote as Mastodon sent it (`to` a plain string, a stray key), aimed at our poll."""
    alice = await make_user("alice")
    response = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        json={"status": "?", "poll": {"options": ["suya..", "other"], "expires_in": 3600}},
    )
    status = response.json()
    rin = await remote_account(container, make_remote_account, inboxes, "rinpatch", "mastodon.sdf.org")
    raw = fixture("mastodon/create-poll-vote-note.json")
    raw["to"] = raw["object"]["to"] = container.uris.actor("alice")
    raw["object"]["inReplyTo"] = status["uri"]
    assert rin.uri == raw["actor"]
    assert await deliver(rin, raw) is None
    assert (await _local_poll(container, status)).cached_tallies == [1, 0]


async def test_pleromas_closed_question_is_stored_ended(
    container: Container, make_remote_account: Any, inboxes: Inboxes, deliver: Deliver
) -> None:
    doc = fixture("pleroma/question-poll-closed.json")
    author = await make_remote_account("rin", "patch.cx")
    assert author.uri == doc["attributedTo"]
    await deliver(
        author, {"id": f"{doc['id']}/activity", "type": "Create", "actor": author.uri, "object": doc}
    )
    poll = await poll_of(container, doc["id"])
    assert poll.cached_tallies == [4, 0] and poll.votes_count == 4 and poll.voters_count == 4
    assert poll.expires_at is not None and poll.expires_at <= utcnow() and poll.notified is True
