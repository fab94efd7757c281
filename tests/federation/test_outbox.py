"""Local actions become activities delivered to the right remote inboxes, once per inbox,
signed with the acting account's key (checklist H: planning and signing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts import deletion
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.render.env import PUBLIC
from kinfolk.jobs.models import QUEUED, Job
from kinfolk.kernel.clock import utcnow
from tests.federation.inboxes import (
    Inboxes,
    jobs_of,
    outbox_settings,
    remote_fields,
    run_jobs,
    running_inboxes,
    trust_local_keys,
)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return outbox_settings(db_url, tmp_path / "data")


@pytest.fixture
async def inboxes() -> AsyncIterator[Inboxes]:
    async with running_inboxes() as running:
        yield running


async def remote_follower(
    container: Container,
    make_remote_account: Any,
    inboxes: Inboxes,
    username: str,
    host: str,
    local_id: int,
    *,
    shared: bool = True,
) -> Any:
    account = await make_remote_account(
        username, host, **await remote_fields(inboxes, host, username, shared=shared)
    )
    async with container.db.uow() as uow:
        await relationships.follow(uow, account, local_id, relationships.FollowOptions())
    return account


async def post(client: httpx.AsyncClient, user: Any, text: str, visibility: str = "public") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/statuses", headers=user.headers, json={"status": text, "visibility": visibility}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_post_goes_once_to_each_inbox_signed(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    # Two followers on remote.test share its shared inbox; one on other.test; one without a
    # shared inbox gets its own.
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    await remote_follower(container, make_remote_account, inboxes, "carol", "remote.test", alice.account_id)
    await remote_follower(container, make_remote_account, inboxes, "dave", "other.test", alice.account_id)
    await remote_follower(
        container, make_remote_account, inboxes, "erin", "other.test", alice.account_id, shared=False
    )
    await trust_local_keys(container, inboxes)

    status = await post(client, alice, "hello fediverse")
    await run_jobs(container)

    got = sorted((r.host, r.path) for r in inboxes.received)
    assert got == [("other.test", "/inbox"), ("other.test", "/users/erin/inbox"), ("remote.test", "/inbox")]
    for received in inboxes.received:
        assert received.verified and received.key_id == container.uris.key_id("alice")
        document = received.document
        assert document["type"] == "Create"
        assert document["actor"] == container.uris.actor("alice")
        assert document["id"] == container.uris.status_activity("alice", int(status["id"]))
        assert document["object"]["content"].startswith("<p>hello fediverse")
        assert document["to"] == [PUBLIC]
    # One rendering, three deliveries, all done.
    assert [j.state for j in await jobs_of(container, "federation.distribute")] == ["done"]
    assert sorted(j.state for j in await jobs_of(container, "federation.deliver")) == ["done"] * 3


async def test_no_remote_audience_costs_no_distribution(
    container: Container, client: httpx.AsyncClient, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    async with container.db.uow() as uow:
        viewer = await uow.session.get(Account, bob.account_id)
        assert viewer is not None
        await relationships.follow(uow, viewer, alice.account_id, relationships.FollowOptions())
    await post(client, alice, "only for locals")
    await drain_jobs()
    assert await jobs_of(container, "federation.distribute") == []


async def test_followers_only_post_reaches_followers_and_mentions_only(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    # dave is on other.test but does not follow alice.
    await make_remote_account("dave", "other.test", **await remote_fields(inboxes, "other.test", "dave"))
    await trust_local_keys(container, inboxes)

    await post(client, alice, "friends only", visibility="private")
    await run_jobs(container)
    assert [(r.host, r.path) for r in inboxes.received] == [("remote.test", "/inbox")]
    document = inboxes.received[0].document
    assert PUBLIC not in document["to"] + document["cc"]
    assert document["to"] == [container.uris.followers("alice")]
    assert inboxes.to("other.test") == []


async def test_suspended_domain_gets_nothing(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain

    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    await remote_follower(container, make_remote_account, inboxes, "dave", "other.test", alice.account_id)
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("other.test", severity="suspend"))
    await post(client, alice, "not for other.test")
    await run_jobs(container)
    assert [r.host for r in inboxes.received] == ["remote.test"]


async def test_favourite_of_remote_status_sends_like_and_undo(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    bob = await make_remote_account(
        "bob", "remote.test", **await remote_fields(inboxes, "remote.test", "bob")
    )
    status = await make_remote_status(bob, "a remote post")
    await trust_local_keys(container, inboxes)

    response = await client.post(f"/api/v1/statuses/{status.id}/favourite", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    assert [(r.host, r.path) for r in inboxes.received] == [("remote.test", "/users/bob/inbox")]
    like = inboxes.received[0].document
    assert like["type"] == "Like" and like["object"] == status.uri
    assert like["actor"] == container.uris.actor("alice") and inboxes.received[0].verified

    response = await client.post(f"/api/v1/statuses/{status.id}/unfavourite", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    undo = inboxes.received[1].document
    assert undo["type"] == "Undo" and undo["object"]["id"] == like["id"]
    assert undo["id"] == container.uris.undo(like["id"])


async def test_follow_of_remote_account_sends_follow_with_a_stored_id(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    from sqlalchemy import select

    from kinfolk.domain.relationships.models import FollowRequest

    alice = await make_user("alice")
    bob = await make_remote_account(
        "bob", "remote.test", **await remote_fields(inboxes, "remote.test", "bob")
    )
    await trust_local_keys(container, inboxes)

    response = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    assert response.status_code == 200 and response.json()["requested"] is True
    await run_jobs(container)
    assert [(r.host, r.path) for r in inboxes.received] == [("remote.test", "/users/bob/inbox")]
    follow = inboxes.received[0].document
    assert follow["type"] == "Follow" and follow["object"] == bob.uri
    assert follow["actor"] == container.uris.actor("alice")
    async with container.db.uow(write=False) as uow:
        stored = (await uow.session.execute(select(FollowRequest.uri))).scalar_one()
    assert stored == follow["id"]

    response = await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    undo = inboxes.received[1].document
    assert undo["type"] == "Undo" and undo["object"]["id"] == follow["id"]
    assert undo["object"]["type"] == "Follow"


async def test_accepting_a_remote_follow_request_sends_accept_with_the_follow(
    container: Container, make_user: Any, make_remote_account: Any, inboxes: Inboxes
) -> None:
    from kinfolk.domain.relationships.models import FollowRequest

    alice = await make_user("alice", locked=True)
    bob = await make_remote_account(
        "bob", "remote.test", **await remote_fields(inboxes, "remote.test", "bob")
    )
    async with container.db.uow() as uow:
        await relationships.follow(uow, bob, alice.account_id, relationships.FollowOptions())
        # What the inbox stores for a remote Follow: its id.
        from sqlalchemy import update

        await uow.session.execute(update(FollowRequest).values(uri="https://remote.test/follows/1"))
    async with container.db.uow() as uow:
        viewer = await uow.session.get(Account, alice.account_id)
        assert viewer is not None
        await relationships.authorize_follow_request(uow, viewer, bob.id)
    await run_jobs(container)
    assert [(r.host, r.path) for r in inboxes.received] == [("remote.test", "/users/bob/inbox")]
    accept = inboxes.received[0].document
    assert accept["type"] == "Accept" and accept["actor"] == container.uris.actor("alice")
    assert accept["object"] == {
        "id": "https://remote.test/follows/1",
        "type": "Follow",
        "actor": bob.uri,
        "object": container.uris.actor("alice"),
    }


async def test_delete_reaches_everyone_the_status_reached(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    dave = await make_remote_account(
        "dave", "other.test", **await remote_fields(inboxes, "other.test", "dave")
    )
    # erin follows nobody here and is not mentioned, but boosted the post.
    erin = await make_remote_account(
        "erin", "third.test", **await remote_fields(inboxes, "other.test", "erin", shared=False)
    )
    status = await post(client, alice, "hello @dave@other.test")
    async with container.db.uow(write=False) as uow:
        original = await uow.session.get(Status, int(status["id"]))
    await make_remote_status(erin, "", content="", reblog_of=original)
    await run_jobs(container)
    inboxes.received.clear()

    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    deletes = [r for r in inboxes.received if r.document["type"] == "Delete"]
    assert sorted((r.host, r.path) for r in deletes) == [
        ("other.test", "/inbox"),
        ("other.test", "/users/erin/inbox"),
        ("remote.test", "/inbox"),
    ]
    uri = container.uris.status("alice", int(status["id"]))
    for received in deletes:
        assert received.document["object"] == {"id": uri, "type": "Tombstone", "atomUri": uri}
    assert dave.id != erin.id


async def test_edit_boost_unboost_profile_and_block_reach_remote_followers(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    bob = await remote_follower(
        container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id
    )
    dave = await make_remote_account(
        "dave", "other.test", **await remote_fields(inboxes, "other.test", "dave")
    )
    await trust_local_keys(container, inboxes)
    status = await post(client, alice, "first draft")
    await run_jobs(container)

    def last(host: str) -> dict[str, Any]:
        return inboxes.to(host)[-1].document

    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "second draft"}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    update = last("remote.test")
    assert update["type"] == "Update" and update["object"]["id"] == status["uri"]
    assert "second draft" in update["object"]["content"]

    # A boost of dave's post goes to alice's followers and to dave.
    theirs = await make_remote_status(dave, "dave says")
    response = await client.post(f"/api/v1/statuses/{theirs.id}/reblog", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    announce = last("remote.test")
    assert announce["type"] == "Announce" and announce["object"] == theirs.uri
    assert last("other.test") == announce
    response = await client.post(f"/api/v1/statuses/{theirs.id}/unreblog", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    undo = last("other.test")
    assert undo["type"] == "Undo" and undo["object"]["id"] == announce["id"]
    assert last("remote.test") == undo

    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"display_name": "Alice A."}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    person = last("remote.test")
    assert person["type"] == "Update" and person["object"]["type"] == "Person"
    assert person["object"]["name"] == "Alice A." and "@context" not in person["object"]

    response = await client.post(f"/api/v1/accounts/{bob.id}/block", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    block = inboxes.to("remote.test", "/users/bob/inbox")[-1].document
    assert block["type"] == "Block" and block["object"] == bob.uri
    response = await client.post(f"/api/v1/accounts/{bob.id}/unblock", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    unblock = inboxes.to("remote.test", "/users/bob/inbox")[-1].document
    assert unblock["type"] == "Undo" and unblock["object"]["id"] == block["id"]
    for received in inboxes.received:
        assert received.verified


def _paths(inboxes: Inboxes, kind: str) -> list[tuple[str, str]]:
    return sorted((r.host, r.path) for r in inboxes.received if r.document["type"] == kind)


async def test_edit_and_delete_reach_everyone_who_interacted(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    from kinfolk.domain.statuses import interactions

    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)

    async def stranger(name: str) -> Account:
        fields = await remote_fields(inboxes, "other.test", name, shared=False)
        account: Account = await make_remote_account(name, "other.test", **fields)
        return account

    carl, fay, gus, hal = [await stranger(n) for n in ("carl", "fay", "gus", "hal")]
    await stranger("ivy")  # on the same server, no part in it: never a recipient
    await trust_local_keys(container, inboxes)
    parent = await make_remote_status(carl, "carl asks")
    response = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        json={"status": "alice answers", "in_reply_to_id": str(parent.id)},
    )
    assert response.status_code == 200, response.text
    status = response.json()
    await run_jobs(container)
    # The reply goes to alice's followers and to the author of the post it answers.
    assert _paths(inboxes, "Create") == [("other.test", "/users/carl/inbox"), ("remote.test", "/inbox")]

    async with container.db.uow() as uow:
        original = await uow.session.get(Status, int(status["id"]))
        assert original is not None
        await interactions.apply(uow, fay, original.id, "favourite")
    await make_remote_status(gus, "", content="", reblog_of=original)
    await make_remote_status(hal, "hal answers alice", in_reply_to=original)
    await run_jobs(container)
    inboxes.received.clear()

    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "alice answers better"}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    reached = [("other.test", f"/users/{n}/inbox") for n in ("carl", "fay", "gus", "hal")]
    assert _paths(inboxes, "Update") == [*reached, ("remote.test", "/inbox")]

    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    assert _paths(inboxes, "Delete") == [*reached, ("remote.test", "/inbox")]
    assert all(r.verified for r in inboxes.received)


async def test_private_status_edit_stays_with_its_audience_but_its_delete_reaches_interactions(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    from kinfolk.domain.statuses.models import Favourite

    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    fay = await make_remote_account(
        "fay", "other.test", **await remote_fields(inboxes, "other.test", "fay", shared=False)
    )
    await trust_local_keys(container, inboxes)
    status = await post(client, alice, "for my followers", visibility="private")
    await run_jobs(container)
    # A favourite from someone who never had access (a remote server may send any Like by id).
    async with container.db.uow() as uow:
        uow.session.add(Favourite(account_id=fay.id, status_id=int(status["id"])))
    inboxes.received.clear()

    response = await client.put(
        f"/api/v1/statuses/{status['id']}", headers=alice.headers, json={"status": "still for my followers"}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    assert _paths(inboxes, "Update") == [("remote.test", "/inbox")]

    response = await client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers)
    assert response.status_code == 200
    await run_jobs(container)
    assert _paths(inboxes, "Delete") == [("other.test", "/users/fay/inbox"), ("remote.test", "/inbox")]


async def test_public_reply_to_a_local_post_reaches_the_thread_authors_followers(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    from kinfolk.domain.relationships.models import AccountDomainBlock

    alice = await make_user("alice")
    zed = await make_user("zed")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", zed.account_id)
    await remote_follower(container, make_remote_account, inboxes, "dave", "other.test", alice.account_id)
    await trust_local_keys(container, inboxes)
    parent = await post(client, zed, "zed asks")
    await run_jobs(container)

    async def reply(text: str, visibility: str = "public") -> None:
        inboxes.received.clear()
        response = await client.post(
            "/api/v1/statuses",
            headers=alice.headers,
            json={"status": text, "in_reply_to_id": parent["id"], "visibility": visibility},
        )
        assert response.status_code == 200, response.text
        await run_jobs(container)

    await reply("alice answers")
    assert _paths(inboxes, "Create") == [("other.test", "/inbox"), ("remote.test", "/inbox")]
    # Not when it is for alice's followers only, nor to a domain alice blocked.
    await reply("between us", visibility="private")
    assert _paths(inboxes, "Create") == [("other.test", "/inbox")]
    async with container.db.uow() as uow:
        uow.session.add(AccountDomainBlock(account_id=alice.account_id, domain="remote.test"))
    await reply("alice answers again")
    assert _paths(inboxes, "Create") == [("other.test", "/inbox")]


async def test_profile_update_reaches_followers_and_recent_contacts(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from kinfolk.kernel.clock import utcnow

    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)

    async def stranger(name: str) -> Account:
        fields = await remote_fields(inboxes, "other.test", name, shared=False)
        account: Account = await make_remote_account(name, "other.test", **fields)
        return account

    carl, dave, erin, fred, gina = [await stranger(n) for n in ("carl", "dave", "erin", "fred", "gina")]
    await stranger("ivy")
    await trust_local_keys(container, inboxes)
    old = await post(client, alice, "long ago, @gina@other.test")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Status).where(Status.id == int(old["id"])).values(created_at=utcnow() - timedelta(days=3))
        )
    await post(client, alice, "hello @dave@other.test")
    carls = await make_remote_status(carl, "carl says")
    assert (
        await client.post(f"/api/v1/statuses/{carls.id}/reblog", headers=alice.headers)
    ).status_code == 200
    erins = await make_remote_status(erin, "erin asks")
    response = await client.post(
        "/api/v1/statuses",
        headers=alice.headers,
        json={"status": "an answer", "in_reply_to_id": str(erins.id)},
    )
    assert response.status_code == 200
    assert (await client.post(f"/api/v1/accounts/{fred.id}/follow", headers=alice.headers)).status_code == 200
    await run_jobs(container)
    inboxes.received.clear()

    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"display_name": "Alice A."}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    assert _paths(inboxes, "Update") == [
        ("other.test", "/users/carl/inbox"),
        ("other.test", "/users/dave/inbox"),
        ("other.test", "/users/erin/inbox"),
        ("other.test", "/users/fred/inbox"),
        ("remote.test", "/inbox"),
    ]
    assert gina.id != dave.id
    for received in inboxes.received:
        assert received.document["object"]["name"] == "Alice A." and received.verified


async def test_profile_update_without_remote_contacts_sends_nothing(
    container: Container, client: httpx.AsyncClient, make_user: Any, inboxes: Inboxes
) -> None:
    alice = await make_user("alice")
    response = await client.patch(
        "/api/v1/accounts/update_credentials", headers=alice.headers, json={"display_name": "Alice A."}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    assert inboxes.received == []
    assert await jobs_of(container, "federation.deliver") == []


async def test_reply_reaches_the_remote_author_it_answers_without_a_mention(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")  # no remote follower
    carl = await make_remote_account(
        "carl", "other.test", **await remote_fields(inboxes, "other.test", "carl", shared=False)
    )
    await trust_local_keys(container, inboxes)
    parent = await make_remote_status(carl, "carl asks")
    response = await client.post(
        "/api/v1/statuses", headers=alice.headers, json={"status": "yes", "in_reply_to_id": str(parent.id)}
    )
    assert response.status_code == 200, response.text
    await run_jobs(container)
    assert _paths(inboxes, "Create") == [("other.test", "/users/carl/inbox")]
    assert inboxes.received[0].document["object"]["inReplyTo"] == parent.uri


async def test_a_deleted_account_tells_its_followers_first_then_every_known_server(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    await remote_follower(container, make_remote_account, inboxes, "bob", "remote.test", alice.account_id)
    await remote_follower(container, make_remote_account, inboxes, "bea", "remote.test", alice.account_id)
    carol = await make_remote_account(
        "carol", "other.test", **await remote_fields(inboxes, "other.test", "carol", shared=False)
    )
    # dave is only known: same server as carol, but its shared inbox.
    await make_remote_account("dave", "other.test", **await remote_fields(inboxes, "other.test", "dave"))
    async with container.db.uow() as uow:  # alice follows carol
        uow.session.add(Follow(account_id=alice.account_id, target_account_id=carol.id))
    await trust_local_keys(container, inboxes)
    await run_jobs(container)
    inboxes.received.clear()

    async with container.db.uow() as uow:
        account = await uow.session.get(Account, alice.account_id)
        assert account is not None
        assert await deletion.delete_local_account(uow, account)
    await run_jobs(container)
    first = sorted((r.host, r.path) for r in inboxes.received)
    assert first == [("other.test", "/users/carol/inbox"), ("remote.test", "/inbox")]
    # Every other known server at low priority: due a little later.
    for _ in range(2):  # the page of known inboxes is planned later, and delivered later still
        assert ("other.test", "/inbox") not in [(r.host, r.path) for r in inboxes.received]
        async with container.db.uow() as uow:
            await uow.session.execute(update(Job).where(Job.state == QUEUED).values(run_at=utcnow()))
        await run_jobs(container)
    got = sorted((r.host, r.path) for r in inboxes.received)
    assert got == [("other.test", "/inbox"), ("other.test", "/users/carol/inbox"), ("remote.test", "/inbox")]
    actor = container.uris.actor("alice")
    for received in inboxes.received:
        assert received.verified and received.key_id == container.uris.key_id("alice")
        assert received.document["type"] == "Delete"
        assert received.document["object"] == actor and received.document["actor"] == actor
        assert received.document["id"] == f"{actor}#delete"
    assert all(j.state == "done" for j in await jobs_of(container, "federation.deliver"))


async def test_a_forwarded_report_goes_to_the_reported_server_signed_by_the_instance_actor(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    inboxes: Inboxes,
) -> None:
    """Mastodon's `forward`: a `Flag` naming the account and its reported posts, from the
    instance actor (the reporter stays anonymous), to the account's own inbox; without
    `forward`, or about one of our own accounts, nothing leaves."""
    from kinfolk.federation.instance_key import instance_key

    alice = await make_user("alice")
    carol = await make_user("carol")
    eve = await make_remote_account(
        "eve", "remote.test", **await remote_fields(inboxes, "remote.test", "eve")
    )
    bad = await make_remote_status(eve, "something awful")
    inboxes.public_keys[container.uris.instance_key_id()] = (await instance_key(container.db)).public_key_pem

    async def report(account_id: int, **extra: Any) -> None:
        body = {"account_id": str(account_id), "comment": "spam, twice", **extra}
        response = await client.post("/api/v1/reports", headers=alice.headers, json=body)
        assert response.status_code == 200, response.text

    await report(eve.id, status_ids=[str(bad.id)])  # not forwarded
    await report(carol.account_id, forward=True)  # one of ours: nowhere to forward
    await run_jobs(container)
    assert inboxes.received == []

    await report(eve.id, status_ids=[str(bad.id)], forward=True)
    await run_jobs(container)
    [flag] = inboxes.received
    assert (flag.host, flag.path) == ("remote.test", "/users/eve/inbox")
    assert flag.verified and flag.key_id == container.uris.instance_key_id()
    document = flag.document
    assert document["type"] == "Flag" and document["actor"] == container.uris.instance_actor()
    assert document["object"] == [eve.uri, bad.uri] and document["content"] == "spam, twice"
    assert str(alice.account_id) not in orjson.dumps(document).decode()
