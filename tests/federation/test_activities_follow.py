"""Incoming activities end to end: a signed POST to the inbox, then the ingress job, through the
same domain code as local users (follows, requests, blocks, favourites, boosts, notifications).
Replies that must be sent are planned as `federation.distribute` jobs (the delivery queue is
not run here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.relationships.models import Block, Follow, FollowRequest
from kinfolk.domain.statuses.models import Favourite, Status
from kinfolk.federation.models import InboxActivity
from kinfolk.jobs.models import DEAD, Job
from kinfolk.jobs.worker import Worker
from tests.conftest import TEST_DOMAIN
from tests.federation.inbox_support import (
    PUBLIC,
    Remote,
    RemoteActor,
    activity,
    jobs_of,
    post,
    remote,
    settings,
    signed,
)

__all__ = ["remote", "settings"]  # fixtures


async def deliver(client, container: Container, document: dict[str, Any], signer: RemoteActor) -> None:
    """POST `document` signed by `signer`, then run the ingress and default queues (not delivery)."""
    body, headers = signed(document, signer)
    response = await post(client, body, headers)
    assert response.status_code == 202, response.text
    worker = Worker(container, queues=["ingress", "default"], concurrency=1, listen=False)
    for _ in range(50):
        if await worker.run_once() == 0:
            break
    async with container.db.uow(write=False) as uow:
        dead = (await uow.session.execute(select(Job.kind, Job.last_error).where(Job.state == DEAD))).all()
    assert not dead, dead


async def rows(container: Container, model: Any, **where: Any) -> list[Any]:
    async with container.db.uow(write=False) as uow:
        stmt = select(model).filter_by(**where)
        return list((await uow.session.execute(stmt)).scalars())


async def account_id(container: Container, uri: str) -> int:
    found = await rows(container, Account, uri=uri)
    return int(found[0].id)


def alice_uri(username: str = "alice") -> str:
    return f"https://{TEST_DOMAIN}/users/{username}"


async def test_follow_is_accepted(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    eve = remote.actor("eve")
    follow = activity(eve, "Follow", alice_uri())
    await deliver(client, container, follow, eve)
    eve_id = await account_id(container, eve.uri)
    follows = await rows(container, Follow, account_id=eve_id, target_account_id=alice.account_id)
    assert len(follows) == 1 and follows[0].uri == follow["id"]
    assert [n.type for n in await rows(container, Notification, account_id=alice.account_id)] == ["follow"]
    assert await jobs_of(container, "federation.distribute") == [
        {
            "type": "Accept",
            "account_id": alice.account_id,
            "target_id": eve_id,
            "follow_id": follows[0].id,
            "follow_uri": follow["id"],
        }
    ]
    processed = await rows(container, InboxActivity)
    assert processed[0].processed_at is not None and processed[0].outcome == ""
    # Undo by someone else (checklist 27): mallory can't end eve's follow.
    mallory = remote.actor("mallory", key=1)
    await deliver(client, container, activity(mallory, "Undo", follow, number=2), mallory)
    assert len(await rows(container, Follow, account_id=eve_id)) == 1
    assert "not the actor's own" in (await rows(container, InboxActivity, type="Undo"))[0].outcome
    # Undo by eve, naming the Follow by its id only.
    await deliver(client, container, activity(eve, "Undo", follow["id"], number=3), eve)
    assert await rows(container, Follow, account_id=eve_id) == []


async def test_locked_account_gets_a_request(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice", locked=True)
    eve = remote.actor("eve")
    follow = activity(eve, "Follow", alice_uri())
    await deliver(client, container, follow, eve)
    eve_id = await account_id(container, eve.uri)
    requests = await rows(container, FollowRequest, account_id=eve_id, target_account_id=alice.account_id)
    assert len(requests) == 1 and requests[0].uri == follow["id"]
    assert await rows(container, Follow, account_id=eve_id) == []
    assert [n.type for n in await rows(container, Notification)] == ["follow_request"]
    assert await jobs_of(container, "federation.distribute") == []


async def test_blocked_follower_is_rejected(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    eve = remote.actor("eve")
    await deliver(client, container, activity(eve, "Like", alice_uri() + "/statuses/1"), eve)  # eve is known
    eve_id = await account_id(container, eve.uri)
    async with container.db.uow() as uow:
        local = await uow.session.get(Account, alice.account_id)
        assert local is not None
        await relationships.block(uow, local, eve_id)
    follow = activity(eve, "Follow", alice_uri(), number=2)
    await deliver(client, container, follow, eve)
    assert await rows(container, Follow, account_id=eve_id) == []
    planned = await jobs_of(container, "federation.distribute")
    # The block itself was announced to eve's server first; the refused follow gets a Reject.
    assert [p["type"] for p in planned] == ["Block", "Reject"]
    assert planned[1]["follow_uri"] == follow["id"]


async def test_accept_and_reject_of_our_follows(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    eve = remote.actor("eve")
    await deliver(client, container, activity(eve, "Like", alice_uri() + "/statuses/1"), eve)
    eve_id = await account_id(container, eve.uri)
    for local in (alice, bob):
        response = await client.post(f"/api/v1/accounts/{eve_id}/follow", headers=local.headers)
        assert response.status_code == 200, response.text
        assert response.json()["requested"] is True
    # Accept with the Follow embedded (no id of ours stored): alice now follows eve.
    embedded = {"type": "Follow", "actor": alice_uri(), "object": eve.uri}
    await deliver(client, container, activity(eve, "Accept", embedded, number=2), eve)
    assert len(await rows(container, Follow, account_id=alice.account_id, target_account_id=eve_id)) == 1
    assert await rows(container, FollowRequest, account_id=alice.account_id) == []
    # Reject of bob's request: the request goes, no follow.
    embedded = {"type": "Follow", "actor": alice_uri("bob"), "object": eve.uri}
    await deliver(client, container, activity(eve, "Reject", embedded, number=3), eve)
    assert await rows(container, FollowRequest, account_id=bob.account_id) == []
    assert await rows(container, Follow, account_id=bob.account_id) == []
    # Block by eve: alice's follow of eve ends, and eve's of alice.
    await deliver(client, container, activity(eve, "Follow", alice_uri(), number=4), eve)
    assert len(await rows(container, Follow, account_id=eve_id)) == 1
    await deliver(client, container, activity(eve, "Block", alice_uri(), number=5), eve)
    assert await rows(container, Follow, account_id=alice.account_id) == []
    assert await rows(container, Follow, account_id=eve_id) == []
    assert len(await rows(container, Block, account_id=eve_id, target_account_id=alice.account_id)) == 1
    await deliver(
        client, container, activity(eve, "Undo", activity(eve, "Block", alice_uri(), number=5), number=6), eve
    )
    assert await rows(container, Block, account_id=eve_id) == []


async def test_like_and_announce_of_a_local_status(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    eve = remote.actor("eve")
    response = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "hello"})
    assert response.status_code == 200, response.text
    status_id = int(response.json()["id"])
    status_uri = response.json()["uri"]
    like = activity(eve, "Like", status_uri)
    await deliver(client, container, like, eve)
    eve_id = await account_id(container, eve.uri)
    assert len(await rows(container, Favourite, account_id=eve_id, status_id=status_id)) == 1
    announce = activity(eve, "Announce", status_uri, to=[PUBLIC], cc=[f"{eve.uri}/followers"])
    await deliver(client, container, announce, eve)
    boosts = await rows(container, Status, account_id=eve_id, reblog_of_id=status_id)
    assert len(boosts) == 1 and boosts[0].uri == announce["id"] and boosts[0].local is False
    notified = await rows(container, Notification, account_id=alice.account_id)
    assert sorted(n.type for n in notified) == ["favourite", "reblog"]
    # Undo of each: the Like embedded, the Announce by its id.
    await deliver(client, container, activity(eve, "Undo", like, number=2), eve)
    assert await rows(container, Favourite, account_id=eve_id) == []
    await deliver(client, container, activity(eve, "Undo", announce["id"], number=3), eve)
    assert all(b.deleted_at is not None for b in await rows(container, Status, account_id=eve_id))
    # An unknown type is recorded and left.
    await deliver(client, container, activity(eve, "Dislike", status_uri, number=4), eve)
    assert (await rows(container, InboxActivity, type="Dislike"))[0].outcome == "unknown type Dislike"
