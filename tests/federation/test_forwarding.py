"""Inbox forwarding, both ends.

Sending: a remote reply to alice's post, addressed to her followers collection, is passed on,
unchanged and signed by alice, to her remote followers' inboxes (one POST per shared inbox,
none back to the replier's server); other replies are not. Receiving: a forwarded `Create`
(signed by someone other than its actor) is accepted and its object fetched from its origin,
never believed as embedded (checklist 23); a forwarded `Update` applies the version the origin
serves, a forwarded `Delete` only what the origin says is gone (checklists 24, 25). Real HTTP
on 127.0.0.1 both ways, real keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from sqlalchemy import select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.signatures import check_request, verify
from kinfolk.jobs.models import DEAD, Job
from kinfolk.jobs.worker import Worker
from tests.conftest import TEST_DOMAIN
from tests.federation.helpers import post as post_status
from tests.federation.inbox_support import (
    AP,
    PUBLIC,
    RemoteActor,
    activity,
    jobs_of,
    key_pair,
    post,
    remote_settings,
    signed,
    stored,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return remote_settings(settings)


@dataclass
class Received:
    host: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Peer:
    """remote.test and other.test on one port: actors with keys, notes, and inboxes that record."""

    port: int = 0
    actors: dict[tuple[str, str], RemoteActor] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # URLs answered 410 Gone, and URLs redirected elsewhere.
    gone: set[str] = field(default_factory=set)
    redirects: dict[str, str] = field(default_factory=dict)

    def actor(self, name: str, host: str = "remote.test", key: int = 0) -> RemoteActor:
        private, public = key_pair(key)
        made = RemoteActor(host, self.port, name, private, public)
        self.actors[(host, name)] = made
        return made

    def note(self, author: RemoteActor, number: int, content: str, **extra: Any) -> dict[str, Any]:
        uri = f"{author.uri}/statuses/{number}"
        doc = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": uri,
            "type": "Note",
            "attributedTo": author.uri,
            "content": f"<p>{content}</p>",
            "published": "2026-01-01T00:00:00Z",
            "to": [PUBLIC],
            "cc": [f"{author.uri}/followers"],
            **extra,
        }
        self.notes[uri] = doc
        return doc

    async def get(self, request: web.Request) -> web.StreamResponse:
        url = f"http://{request.host}{request.path}"
        if url in self.gone:
            return web.Response(status=410)
        if url in self.redirects:
            return web.Response(status=302, headers={"Location": self.redirects[url]})
        if url in self.notes:
            return web.Response(body=orjson.dumps(self.notes[url]), content_type=AP)
        parts = request.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "users":
            found = self.actors.get((request.host.split(":")[0], parts[1]))
            if found is not None:
                return web.Response(body=orjson.dumps(found.document()), content_type=AP)
        return web.Response(status=404)

    async def post(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.host.split(":")[0], request.path, dict(request.headers), body))
        return web.Response(status=202)

    def with_id(self, activity_id: str) -> list[Received]:
        return [r for r in self.received if orjson.loads(r.body).get("id") == activity_id]


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    made = Peer()
    app = web.Application()
    app.router.add_get("/{path:.*}", made.get)
    app.router.add_post("/{path:.*}", made.post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    made.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield made
    finally:
        await runner.cleanup()


async def run_jobs(container: Container, *queues: str) -> None:
    worker = Worker(container, queues=list(queues), concurrency=1, listen=False)
    for _ in range(50):
        if await worker.run_once() == 0:
            break
    async with container.db.uow(write=False) as uow:
        dead = (await uow.session.execute(select(Job.kind, Job.last_error).where(Job.state == DEAD))).all()
    assert not dead, dead


async def send(client: httpx.AsyncClient, document: dict[str, Any], signer: RemoteActor) -> httpx.Response:
    body, headers = signed(document, signer)
    return await post(client, body, headers)


async def follow_alice(client: httpx.AsyncClient, container: Container, *followers: RemoteActor) -> None:
    for n, follower in enumerate(followers):
        follow = activity(follower, "Follow", f"https://{TEST_DOMAIN}/users/alice", number=n + 1)
        assert (await send(client, follow, follower)).status_code == 202
    await run_jobs(container, "ingress", "default")


def alice_followers() -> str:
    return f"https://{TEST_DOMAIN}/users/alice/followers"


def reply_create(
    author: RemoteActor, number: int, parent_uri: str, *, to: list[str], cc: list[str]
) -> dict[str, Any]:
    note = {
        "id": f"{author.uri}/statuses/{number}",
        "type": "Note",
        "attributedTo": author.uri,
        "inReplyTo": parent_uri,
        "content": f"<p>reply {number}</p>",
        "published": "2026-01-01T00:00:00Z",
        "to": to,
        "cc": cc,
    }
    return activity(author, "Create", note, number=number, to=to, cc=cc)


async def test_reply_to_followers_is_forwarded_signed_by_the_author(
    client, container, make_user, peer: Peer
) -> None:
    alice = await make_user("alice")
    eve = peer.actor("eve")  # the replier, on remote.test
    remote_fan = peer.actor("ray", key=1)  # a follower on the replier's own server
    zed, yan = peer.actor("zed", host="other.test", key=2), peer.actor("yan", host="other.test", key=3)
    await follow_alice(client, container, remote_fan, zed, yan)
    status = await post_status(client, alice, status="hello world")
    parent_uri = status["uri"]
    create = reply_create(
        eve, 1, parent_uri, to=[PUBLIC], cc=[alice_followers(), f"https://{TEST_DOMAIN}/users/alice"]
    )
    assert (await send(client, create, eve)).status_code == 202
    await run_jobs(container, "ingress", "default")

    deliveries = [j for j in await jobs_of(container, "federation.deliver") if j.get("forwarded")]
    # zed and yan share other.test's inbox; remote.test (the replier's server) gets nothing.
    assert [j["inbox"] for j in deliveries] == [f"http://other.test:{peer.port}/inbox"]
    assert deliveries[0]["actor_id"] == alice.account_id

    await run_jobs(container, "delivery")
    [got] = peer.with_id(create["id"])  # alice's own post went out too: not counted
    assert got.host == "other.test" and got.path == "/inbox"
    assert orjson.loads(got.body) == create
    # Signed by alice, over this very request, as any receiver will check it.
    params = check_request("POST", "/inbox", got.headers, got.body)
    async with container.db.uow(write=False) as uow:
        account = await uow.session.get(Account, alice.account_id)
        assert account is not None
    assert params.key_id == f"https://{TEST_DOMAIN}/users/alice#main-key"
    verify(params, "POST", "/inbox", got.headers, account.public_key_pem or "")


@pytest.mark.parametrize("case", ["not_addressed", "private", "reply_to_remote"])
async def test_other_replies_are_not_forwarded(case: str, client, container, make_user, peer: Peer) -> None:
    alice = await make_user("alice")
    eve = peer.actor("eve")
    zed = peer.actor("zed", host="other.test", key=2)
    await follow_alice(client, container, zed)
    status = await post_status(client, alice, status="hello world")
    parent = status["uri"]
    to, cc = [PUBLIC], [alice_followers()]
    if case == "not_addressed":
        cc = [f"https://{TEST_DOMAIN}/users/alice"]
    elif case == "private":
        to, cc = [f"{eve.uri}/followers"], [alice_followers(), f"https://{TEST_DOMAIN}/users/alice"]
    else:
        parent = peer.note(zed, 9, "a remote post")["id"]
    assert (await send(client, reply_create(eve, 1, parent, to=to, cc=cc), eve)).status_code == 202
    await run_jobs(container, "ingress", "default")
    async with container.db.uow(write=False) as uow:
        assert (
            await uow.session.execute(select(Status).where(Status.uri == f"{eve.uri}/statuses/1"))
        ).first()
    assert [j for j in await jobs_of(container, "federation.deliver") if j.get("forwarded")] == []


async def test_forwarded_create_is_fetched_from_its_origin(client, container, make_user, peer: Peer) -> None:
    await make_user("alice")
    bob = peer.actor("bob")  # the author, on remote.test
    zed = peer.actor("zed", host="other.test", key=2)  # the forwarder
    real = peer.note(bob, 1, "the real text")
    forged = {**real, "content": "<p>altered</p>"}
    forwarded = activity(bob, "Create", forged)
    assert (await send(client, forwarded, zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    async with container.db.uow(write=False) as uow:
        [status] = (await uow.session.execute(select(Status).where(Status.uri == real["id"]))).scalars()
        author = await uow.session.get(Account, status.account_id)
    assert "the real text" in status.content and "altered" not in status.content
    assert author is not None and author.uri == bob.uri


async def test_forwarded_create_missing_at_its_origin_stores_nothing(
    client, container, make_user, peer: Peer
) -> None:
    bob = peer.actor("bob")
    zed = peer.actor("zed", host="other.test", key=2)
    forged = {
        "id": f"{bob.uri}/statuses/404",
        "type": "Note",
        "attributedTo": bob.uri,
        "content": "<p>invented</p>",
        "to": [PUBLIC],
    }
    assert (await send(client, activity(bob, "Create", forged), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(Status).where(Status.uri == forged["id"]))).first() is None


@pytest.mark.parametrize("case", ["other_origin", "like"])
async def test_other_mismatched_signers_are_refused(case: str, client, container, peer: Peer) -> None:
    bob = peer.actor("bob")
    zed = peer.actor("zed", host="other.test", key=2)
    if case == "other_origin":
        document = activity(bob, "Create", f"http://other.test:{peer.port}/users/zed/statuses/1")
    else:
        document = activity(bob, "Like", f"https://{TEST_DOMAIN}/users/alice/statuses/1")
    before = await stored(container)
    response = await send(client, document, zed)
    assert response.status_code == 401 and "key mismatch" in response.json()["error"].lower()
    assert await stored(container) == before


async def stored_status(container: Container, uri: str) -> Status | None:
    async with container.db.uow(write=False) as uow:
        found: Status | None = (
            await uow.session.execute(select(Status).where(Status.uri == uri))
        ).scalar_one_or_none()
        return found


async def bobs_note(
    client: httpx.AsyncClient, container: Container, peer: Peer
) -> tuple[RemoteActor, RemoteActor, dict[str, Any]]:
    """bob's note stored here from bob himself, and zed on another server who will forward."""
    bob = peer.actor("bob")
    zed = peer.actor("zed", host="other.test", key=2)
    note = peer.note(bob, 1, "the original")
    assert (await send(client, activity(bob, "Create", note), bob)).status_code == 202
    await run_jobs(container, "ingress", "default")
    assert await stored_status(container, note["id"]) is not None
    return bob, zed, note


async def test_forwarded_update_applies_only_what_the_origin_serves(client, container, peer: Peer) -> None:
    """Checklists 24 and 32: the embedded copy is never applied; the origin's version is."""
    from kinfolk.domain.statuses.models import StatusEdit

    bob, zed, note = await bobs_note(client, container, peer)
    forged = {**note, "content": "<p>altered</p>", "updated": "2026-02-01T00:00:00Z", "to": [PUBLIC]}
    # The origin still serves the original: nothing changes.
    assert (await send(client, activity(bob, "Update", forged, number=2), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    status = await stored_status(container, note["id"])
    assert status is not None and "the original" in status.content and status.edited_at is None
    # bob really edited it: the forwarded Update brings the origin's version, not the copy.
    peer.notes[note["id"]] = {
        **note,
        "content": "<p>edited at the origin</p>",
        "updated": "2026-02-02T00:00:00Z",
    }
    assert (await send(client, activity(bob, "Update", forged, number=3), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    status = await stored_status(container, note["id"])
    assert status is not None and "edited at the origin" in status.content and "altered" not in status.content
    async with container.db.uow(write=False) as uow:
        edits = (
            (await uow.session.execute(select(StatusEdit.content).order_by(StatusEdit.id))).scalars().all()
        )
    assert len(edits) == 2 and "the original" in edits[0] and "edited at the origin" in edits[1]


@pytest.mark.parametrize("how", ["404", "410", "tombstone"])
async def test_forwarded_delete_needs_its_origin_to_say_gone(how: str, client, container, peer: Peer) -> None:
    """Checklist 25: a Delete sent by someone else than the author changes nothing while the
    origin serves the post; once the origin says it is gone, it goes, tombstoned."""
    from kinfolk.domain.statuses.models import Tombstone

    bob, zed, note = await bobs_note(client, container, peer)
    delete = activity(bob, "Delete", {"id": note["id"], "type": "Tombstone"}, number=2)
    assert (await send(client, delete, zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    status = await stored_status(container, note["id"])
    assert status is not None and status.deleted_at is None
    if how == "404":
        del peer.notes[note["id"]]
    elif how == "410":
        peer.gone.add(note["id"])
    else:
        peer.notes[note["id"]] = {"id": note["id"], "type": "Tombstone"}
    assert (await send(client, activity(bob, "Delete", note["id"], number=3), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    status = await stored_status(container, note["id"])
    assert status is not None and status.deleted_at is not None
    async with container.db.uow(write=False) as uow:
        assert await uow.session.get(Tombstone, note["id"]) is not None


async def test_forwarded_delete_believes_no_404_from_elsewhere(client, container, peer: Peer) -> None:
    """A 404 after a redirect to another server does not speak for the post's origin."""
    bob, zed, note = await bobs_note(client, container, peer)
    peer.redirects[note["id"]] = f"http://other.test:{peer.port}/nowhere"
    assert (await send(client, activity(bob, "Delete", note["id"], number=2), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    status = await stored_status(container, note["id"])
    assert status is not None and status.deleted_at is None


async def test_forwarded_delete_of_an_actor_needs_its_origin_to_say_gone(
    client, container, peer: Peer
) -> None:
    bob, zed, note = await bobs_note(client, container, peer)
    assert (await send(client, activity(bob, "Delete", bob.uri, number=2), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    async with container.db.uow(write=False) as uow:
        account = (await uow.session.execute(select(Account).where(Account.uri == bob.uri))).scalar_one()
    assert account.suspended_at is None
    peer.gone.add(bob.uri)
    assert (await send(client, activity(bob, "Delete", bob.uri, number=3), zed)).status_code == 202
    await run_jobs(container, "ingress", "default")
    async with container.db.uow(write=False) as uow:
        account = (await uow.session.execute(select(Account).where(Account.uri == bob.uri))).scalar_one()
    assert account.suspended_at is not None
    status = await stored_status(container, note["id"])
    assert status is not None and status.deleted_at is not None
