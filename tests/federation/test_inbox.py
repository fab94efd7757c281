"""POST /inbox and /users/{username}/inbox: checklist A (1-14, 16-17), B (18-20, 25, 33), size,
content type and repeats. Every refusal asserts its status and that nothing was stored: no inbox
row, no job, and (where it matters) no fetch of a key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.kernel.clock import utcnow
from tests.conftest import TEST_DOMAIN
from tests.federation.inbox_support import (
    AP,
    Remote,
    RemoteActor,
    activity,
    jobs_of,
    key_pair,
    post,
    remote,
    settings,
    signed,
    stored,
)

__all__ = ["remote", "settings"]  # fixtures


def follow_of(actor: RemoteActor, username: str = "alice", number: int = 1) -> dict[str, Any]:
    return activity(actor, "Follow", f"https://{TEST_DOMAIN}/users/{username}", number=number)


async def account_by_uri(container: Container, uri: str) -> Account | None:
    async with container.db.uow(write=False) as uow:
        return (await uow.session.execute(select(Account).where(Account.uri == uri))).scalar_one_or_none()


async def refused(
    client: httpx.AsyncClient,
    container: Container,
    body: bytes,
    headers: dict[str, str],
    status: int | tuple[int, ...],
    reason: str = "",
    path: str = "/inbox",
) -> httpx.Response:
    before = await stored(container)
    response = await post(client, body, headers, path)
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    if reason:
        assert reason.lower() in response.json()["error"].lower(), response.text
    assert await stored(container) == before
    return response


async def test_follow_is_stored_once_and_queued(client, container, make_user, remote: Remote) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve), eve)
    response = await post(client, body, headers)
    assert response.status_code == 202, response.text
    assert await stored(container) == (1, 1)
    assert len(await jobs_of(container, "federation.ingress")) == 1
    # The actor was fetched once, stored with its key and its summary sanitised.
    account = await account_by_uri(container, eve.uri)
    assert (
        account is not None
        and account.public_key_id == eve.key_id
        and account.domain == f"remote.test:{remote.port}"
    )
    assert "<script>" not in account.note
    # A repeat (a sender's retry) is a no-op, and the stored key needs no fetch.
    fetches = len(remote.fetches)
    body, headers = signed(follow_of(eve), eve)
    assert (await post(client, body, headers)).status_code == 202
    assert await stored(container) == (1, 1)
    assert len(remote.fetches) == fetches
    # The personal inbox takes the same activity as the same no-op.
    body, headers = signed(follow_of(eve), eve, path="/users/alice/inbox")
    assert (await post(client, body, headers, "/users/alice/inbox")).status_code == 202
    assert await stored(container) == (1, 1)


async def test_unknown_local_inbox_is_404(client, container, remote: Remote) -> None:
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve, "nobody"), eve, path="/users/nobody/inbox")
    await refused(client, container, body, headers, 404, path="/users/nobody/inbox")
    assert remote.fetches == []


async def test_size_and_content_type(client, container, make_user, remote: Remote) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    document = follow_of(eve)
    document["padding"] = "x" * (1024 * 1024)
    body, headers = signed(document, eve)
    await refused(client, container, body, headers, 413)
    body, headers = signed(follow_of(eve), eve)
    await refused(client, container, body, {**headers, "Content-Type": "text/plain"}, 415)
    assert remote.fetches == []


async def test_unsigned_and_malformed_signatures(client, container, make_user, remote: Remote) -> None:
    """Checklist A 1-5, 7, 8, 11: refused before any key is fetched."""
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve), eve)
    without = {k: v for k, v in headers.items() if k != "Signature"}
    await refused(client, container, body, without, 401, "Request not signed")  # 1
    sha1 = {**headers, "Signature": headers["Signature"].replace("rsa-sha256", "rsa-sha1")}
    await refused(client, container, body, sha1, 401, "Unsupported signature algorithm")  # 2
    hmac = {**headers, "Signature": headers["Signature"].replace("rsa-sha256", "hmac-sha256")}
    await refused(client, container, body, hmac, 401, "Unsupported signature algorithm")
    no_digest = {**headers, "Signature": headers["Signature"].replace(" digest", "")}
    await refused(client, container, body, no_digest, 401, "Digest header to be signed")  # 3
    changed = body.replace(b"Follow", b"Folloz")
    await refused(client, container, changed, headers, 401, "Digest")  # 4
    for digest in ("SHA-512=AAAA", "SHA-256=not base64!", "SHA-256=" + "A" * 40):  # 5
        await refused(client, container, body, {**headers, "Digest": digest}, (400, 401))
    old = signed(follow_of(eve), eve, now=utcnow() - timedelta(hours=2))  # 7
    await refused(client, container, old[0], old[1], 401, "time window")
    ahead = signed(follow_of(eve), eve, now=utcnow() + timedelta(hours=2))
    await refused(client, container, ahead[0], ahead[1], 401)
    await refused(client, container, body, {**headers, "Date": "wrong date"}, (400, 401), "Date")  # 8
    for garbage in (  # 11
        'keyId="a, signature="x"',
        f'keyId="{eve.key_id}",keyId="{eve.key_id}",headers="(request-target) host date digest",signature="x"',
        "x" * 65536,
        f'keyId="{eve.key_id}",headers="(request-target) host date digest"',
    ):
        await refused(client, container, body, {**headers, "Signature": garbage}, (400, 401))
    assert remote.fetches == []


async def test_replays_to_another_target(client, container, make_user, remote: Remote) -> None:
    """Checklist A 6, 9, 10: the signature names the method, path, query and host it was made for."""
    await make_user("alice")
    await make_user("bob")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve), eve)
    await refused(client, container, body, headers, 401, "Verification failed", path="/users/bob/inbox")
    await refused(client, container, body, headers, 401, "Verification failed", path="/inbox?x=1")
    elsewhere = signed(follow_of(eve), eve, url="https://other.example/inbox")
    response = await post(client, elsewhere[0], {**elsewhere[1], "Host": TEST_DOMAIN})
    assert response.status_code == 401
    assert await stored(container) == (0, 0)


@pytest.mark.parametrize(
    "key_id", ["http://169.254.169.254/latest/key", "http://[::ffff:10.0.0.1]/k", "http://10.0.0.5/users/x#k"]
)
async def test_private_key_ids_are_never_fetched(
    client, container, make_user, remote: Remote, key_id: str
) -> None:
    """Checklist A 12."""
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve), eve, key_id=key_id)
    await refused(client, container, body, headers, 401, "private network")
    assert remote.fetches == []


async def test_blocked_domain_refused_before_any_fetch(client, container, make_user, remote: Remote) -> None:
    """Checklist A 13."""
    await make_user("alice")
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("remote.test", severity="suspend"))
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve), eve)
    await refused(client, container, body, headers, 403)
    assert remote.fetches == []
    assert await account_by_uri(container, eve.uri) is None


async def test_block_after_accepted_activities_refuses_at_once(
    client, container, make_user, remote: Remote
) -> None:
    """Checklist A 13 with the domain's answer cached: a block made in this process is
    honoured by the very next request."""
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve, number=1), eve)
    assert (await post(client, body, headers)).status_code == 202
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("remote.test", severity="suspend"))
    body, headers = signed(follow_of(eve, number=2), eve)
    await refused(client, container, body, headers, 403, "blocked")


async def test_key_changed_by_another_process_is_used_at_once(
    client, container, make_user, remote: Remote
) -> None:
    """A key stored by someone else (a worker applying the actor's Update) is the one verified
    against on the next request, with no fetch: stored keys are not cached."""
    await make_user("alice")
    eve = remote.actor("eve", key=0)
    body, headers = signed(follow_of(eve, number=1), eve)
    assert (await post(client, body, headers)).status_code == 202
    fetches = len(remote.fetches)
    eve.private_pem, eve.public_pem = key_pair(1)
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.uri == eve.uri).values(public_key_pem=eve.public_pem)
        )
    body, headers = signed(follow_of(eve, number=2), eve)
    assert (await post(client, body, headers)).status_code == 202
    assert len(remote.fetches) == fetches


async def test_key_that_cannot_be_fetched(client, container, make_user, remote: Remote) -> None:
    """Checklist A 14: 401; a Delete from an actor we never knew is a 202 without any fetch."""
    await make_user("alice")
    eve = remote.actor("eve")
    for status in (404, 410):
        eve.answer = status
        body, headers = signed(follow_of(eve), eve)
        await refused(client, container, body, headers, 401, "Unable to fetch key")
    fetches = len(remote.fetches)
    body, headers = signed(activity(eve, "Delete", eve.uri), eve)
    await refused(client, container, body, headers, 202)
    assert len(remote.fetches) == fetches
    assert await account_by_uri(container, eve.uri) is None


async def test_key_rotation_refetches_once(client, container, make_user, remote: Remote) -> None:
    """Checklist A 16: one refetch on a failed verification with a stored key, then none within
    the cool-down for a forged signature."""
    await make_user("alice")
    eve = remote.actor("eve", key=0)
    body, headers = signed(follow_of(eve, number=1), eve)
    assert (await post(client, body, headers)).status_code == 202
    assert len(remote.fetches) == 1
    eve.private_pem, eve.public_pem = key_pair(1)  # the actor rotates its key
    body, headers = signed(follow_of(eve, number=2), eve)
    assert (await post(client, body, headers)).status_code == 202
    assert len(remote.fetches) == 2
    account = await account_by_uri(container, eve.uri)
    assert account is not None and account.public_key_pem == eve.public_pem
    forged_pem = key_pair(2)[0]
    body, headers = signed(follow_of(eve, number=3), eve, private_pem=forged_pem)
    await refused(client, container, body, headers, 401, "Verification failed")
    body, headers = signed(follow_of(eve, number=4), eve, private_pem=forged_pem)
    await refused(client, container, body, headers, 401, "Verification failed")
    # The rotation's refetch started the key's cool-down: no forgery makes another fetch.
    assert len(remote.fetches) == 2


async def test_suspended_actor_may_only_retract(client, container, make_user, remote: Remote) -> None:
    """Checklist A 17."""
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve, number=1), eve)
    assert (await post(client, body, headers)).status_code == 202
    async with container.db.uow() as uow:
        await uow.session.execute(update(Account).where(Account.uri == eve.uri).values(suspended_at=utcnow()))
    body, headers = signed(follow_of(eve, number=2), eve)
    await refused(client, container, body, headers, 403, "suspended")
    undo = activity(eve, "Undo", follow_of(eve, number=1))
    body, headers = signed(undo, eve)
    assert (await post(client, body, headers)).status_code == 202


async def test_signer_must_be_the_actor(client, container, make_user, remote: Remote) -> None:
    """Checklist B 18, 19, 25: eve's key can't speak for bob, on another host or her own."""
    await make_user("alice")
    eve = remote.actor("eve")
    bob_elsewhere = remote.actor("bob", host="other.test", key=1)
    bob_same_host = remote.actor("bob", key=1)
    for bob in (bob_elsewhere, bob_same_host):
        body, headers = signed(follow_of(bob), eve)
        await refused(client, container, body, headers, 401, "Key mismatch")
        # Known bob: a Delete of bob's note (or of bob) signed by eve is refused too.
        delete = activity(bob, "Delete", f"{bob.uri}/statuses/1")
        body, headers = signed(delete, eve)
        await refused(client, container, body, headers, (202, 401))
    assert await account_by_uri(container, bob_same_host.uri) is None


async def test_key_not_claimed_by_its_actor(client, container, make_user, remote: Remote) -> None:
    """Checklist B 20: an actor whose publicKey.id is not the keyId."""
    await make_user("alice")
    eve = remote.actor("eve")
    eve.key_id_override = f"{eve.uri}#other-key"
    body, headers = signed(follow_of(eve), eve)
    await refused(client, container, body, headers, 401, "Key mismatch")
    assert await account_by_uri(container, eve.uri) is None


async def test_activity_claiming_our_domain(client, container, make_user, remote: Remote) -> None:
    """Checklist B 33: an actor or activity id of ours from the inbox is refused."""
    await make_user("alice")
    eve = remote.actor("eve")
    document = {**follow_of(eve), "actor": f"https://{TEST_DOMAIN}/users/alice"}
    body, headers = signed(document, eve)
    await refused(client, container, body, headers, 401, "this server")
    document = {**follow_of(eve), "id": f"https://{TEST_DOMAIN}/users/alice#follows/1"}
    body, headers = signed(document, eve)
    await refused(client, container, body, headers, 401, "this server")
    body, headers = signed(follow_of(eve), eve, key_id=f"https://{TEST_DOMAIN}/users/alice#main-key")
    await refused(client, container, body, headers, 401)
    assert remote.fetches == []


async def test_not_json_or_no_activity(client, container, make_user, remote: Remote) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    for document in (b"{not json", b"[1, 2]", orjson.dumps({"type": "Follow", "actor": eve.uri})):
        body, headers = signed(document, eve)
        await refused(client, container, body, headers, 400)
    assert AP


async def test_forged_signatures_refetch_once_per_cool_down(
    client, container, make_user, remote: Remote
) -> None:
    """Checklist A 16, the other half: forgeries naming a stored key cost one refetch, not one each."""
    await make_user("alice")
    eve = remote.actor("eve")
    body, headers = signed(follow_of(eve, number=1), eve)
    assert (await post(client, body, headers)).status_code == 202
    forged_pem = key_pair(2)[0]
    for number in (2, 3, 4):
        body, headers = signed(follow_of(eve, number=number), eve, private_pem=forged_pem)
        await refused(client, container, body, headers, 401, "Verification failed")
    assert len(remote.fetches) == 2
