"""Secure mode (KINFOLK_AUTHORIZED_FETCH): ActivityPub GETs need a signature from a server that is
not suspended, the signer is the viewer, and nothing is publicly cacheable. The remote actors and
their keys are served by a real aiohttp server on 127.0.0.1 (`inbox_support.remote`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.domain.relationships.models import Follow
from kinfolk.federation.message_signatures import sign_message
from kinfolk.federation.signatures import sign_request
from kinfolk.jobs.worker import Worker
from tests.conftest import TEST_DOMAIN
from tests.federation.helpers import AP
from tests.federation.helpers import post as post_status
from tests.federation.inbox_support import (
    Remote,
    RemoteActor,
    activity,
    post,
    remote,
    remote_settings,
    signed,
)

__all__ = ["remote"]  # fixture

FULL_ONLY = ("name", "summary", "followers", "following", "url")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return remote_settings(settings).model_copy(update={"authorized_fetch": True})


def signed_get_headers(path: str, signer: RemoteActor, *, accept: str = AP) -> dict[str, str]:
    return sign_request(
        "GET",
        f"https://{TEST_DOMAIN}{path}",
        {"Accept": accept},
        None,
        key_id=signer.key_id,
        private_key_pem=signer.private_pem,
    )


async def signed_get(client: httpx.AsyncClient, path: str, signer: RemoteActor) -> httpx.Response:
    return await client.get(path, headers=signed_get_headers(path, signer))


async def unsigned(client: httpx.AsyncClient, path: str, accept: str = AP) -> httpx.Response:
    return await client.get(path, headers={"Accept": accept})


async def follow_alice(client: httpx.AsyncClient, container: Container, follower: RemoteActor) -> None:
    """`follower` follows alice the real way: a signed Follow to the inbox, then the ingress job."""
    body, headers = signed(activity(follower, "Follow", f"https://{TEST_DOMAIN}/users/alice"), follower)
    assert (await post(client, body, headers)).status_code == 202
    worker = Worker(container, queues=["ingress", "default"], concurrency=1, listen=False)
    for _ in range(20):
        if await worker.run_once() == 0:
            break
    async with container.db.uow(write=False) as uow:
        found = await uow.session.execute(
            select(Follow.id)
            .join(Account, Account.id == Follow.account_id)
            .where(Account.uri == follower.uri)
        )
        assert found.first() is not None


def assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"].startswith("private"), response.headers
    assert response.headers["vary"] == "Accept, Signature"


async def test_unsigned_fetches_are_refused(client, make_user) -> None:
    alice = await make_user("alice")
    status = await post_status(client, alice, status="hello")
    for path in (
        f"/users/alice/statuses/{status['id']}",
        f"/users/alice/statuses/{status['id']}/activity",
        f"/users/alice/statuses/{status['id']}/replies",
        "/users/alice/outbox",
        "/users/alice/outbox?page=true",
        "/users/alice/followers",
        "/users/alice/following",
        "/users/alice/collections/featured",
        "/users/alice/collections/tags",
    ):
        response = await unsigned(client, path)
        assert response.status_code == 401, (path, response.text)
        assert "hello" not in response.text


async def test_unsigned_actor_is_the_minimal_actor_and_the_instance_actor_stays_open(
    client, make_user
) -> None:
    await make_user("alice")
    response = await unsigned(client, "/users/alice")
    assert response.status_code == 200
    actor: dict[str, Any] = response.json()
    assert set(actor) <= {
        "@context",
        "id",
        "type",
        "preferredUsername",
        "inbox",
        "outbox",
        "publicKey",
        "assertionMethod",  # the Ed25519 key (FEP-521a): also needed to verify its signatures
        "endpoints",
    }
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["id"] == f"https://{TEST_DOMAIN}/users/alice"
    assert not any(field in actor for field in FULL_ONLY)
    assert_private(response)
    instance = await unsigned(client, "/actor")
    assert instance.status_code == 200 and "publicKey" in instance.json()


async def test_html_pages_stay_open(client, make_user) -> None:
    alice = await make_user("alice")
    status = await post_status(client, alice, status="for browsers")
    for path in ("/@alice", f"/@alice/{status['id']}", f"/users/alice/statuses/{status['id']}"):
        response = await unsigned(client, path, "text/html")
        assert response.status_code == 200, path
        assert "for browsers" in response.text


async def test_signed_fetches_are_served(client, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    eve = remote.actor("eve")
    status = await post_status(client, alice, status="hello signed")
    note = await signed_get(client, f"/users/alice/statuses/{status['id']}", eve)
    assert note.status_code == 200, note.text
    assert "hello signed" in note.json()["content"]
    assert_private(note)
    actor = await signed_get(client, "/users/alice", eve)
    assert actor.status_code == 200 and all(field in actor.json() for field in FULL_ONLY)
    assert_private(actor)
    outbox = await signed_get(client, "/users/alice/outbox?page=true", eve)
    assert outbox.status_code == 200 and len(outbox.json()["orderedItems"]) == 1
    assert_private(outbox)
    # The key was fetched once, and is then read from the account.
    assert remote.fetches.count(f"remote.test:{remote.port}/users/eve") == 1


async def test_bad_signatures_are_refused(client, make_user, remote: Remote) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    mallory = remote.actor("mallory", key=1)
    # Signed for another path: the (request-target) does not match.
    headers = signed_get_headers("/users/bob", eve)
    assert (await client.get("/users/alice/outbox", headers=headers)).status_code == 401
    # Eve's key id, mallory's private key.
    forged = sign_request(
        "GET",
        f"https://{TEST_DOMAIN}/users/alice/outbox",
        {"Accept": AP},
        None,
        key_id=eve.key_id,
        private_key_pem=mallory.private_pem,
    )
    assert (await client.get("/users/alice/outbox", headers=forged)).status_code == 401


async def test_suspended_domain_is_forbidden_before_any_fetch(
    client, container, make_user, remote: Remote
) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest(domain="remote.test", severity="suspend"))
    for path in ("/users/alice", "/users/alice/outbox"):
        response = await signed_get(client, path, eve)
        assert response.status_code == 403, (path, response.text)
    assert remote.fetches == []


async def test_followers_only_status_is_served_to_a_signing_follower(
    client, container, make_user, remote: Remote
) -> None:
    alice = await make_user("alice")
    eve = remote.actor("eve")
    zed = remote.actor("zed", host="other.test", key=1)
    await follow_alice(client, container, eve)
    status = await post_status(client, alice, status="followers only", visibility="private")
    path = f"/users/alice/statuses/{status['id']}"
    assert (await unsigned(client, path)).status_code == 401
    stranger = await signed_get(client, path, zed)
    assert stranger.status_code == 404 and "followers only" not in stranger.text
    follower = await signed_get(client, path, eve)
    assert follower.status_code == 200, follower.text
    assert "followers only" in follower.json()["content"]
    assert_private(follower)
    activity_doc = await signed_get(client, f"{path}/activity", eve)
    assert activity_doc.status_code == 200 and activity_doc.json()["type"] == "Create"
    # The browser page never shows it, signed or not.
    assert (await unsigned(client, f"/@alice/{status['id']}", "text/html")).status_code == 404


async def test_default_mode_is_unchanged(client, container, make_user, remote: Remote) -> None:
    container.settings.authorized_fetch = False
    alice = await make_user("alice")
    status = await post_status(client, alice, status="open")
    private = await post_status(client, alice, status="closed", visibility="private")
    response = await unsigned(client, f"/users/alice/statuses/{status['id']}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=180"
    assert response.headers["vary"] == "Accept"
    actor = await unsigned(client, "/users/alice")
    assert actor.status_code == 200 and "followers" in actor.json()
    assert (await unsigned(client, "/users/alice/outbox")).status_code == 200
    assert (await unsigned(client, f"/users/alice/statuses/{private['id']}")).status_code == 404
    # A signature is not looked at (no key fetched).
    eve = remote.actor("eve")
    assert (await signed_get(client, f"/users/alice/statuses/{status['id']}", eve)).status_code == 200
    assert remote.fetches == []


async def test_an_rfc9421_signed_fetch_is_accepted_and_bound_to_its_url(
    client, make_user, remote: Remote
) -> None:
    alice = await make_user("alice")
    status = await post_status(client, alice, status="hello over RFC 9421")
    eve = remote.actor("eve")
    path = f"/users/alice/statuses/{status['id']}"

    def headers_for(url_path: str) -> dict[str, str]:
        return {
            "Accept": AP,
            **sign_message(
                "GET",
                f"https://{TEST_DOMAIN}{url_path}",
                {},
                None,
                key_id=eve.key_id,
                private_key_pem=eve.private_pem,
            ),
        }

    response = await client.get(path, headers=headers_for(path))
    assert response.status_code == 200, response.text
    assert "hello over RFC 9421" in response.text
    assert_private(response)
    # The signature names its URL: replayed for another path it does not hold.
    refused = await client.get("/users/alice/outbox", headers=headers_for(path))
    assert refused.status_code == 401, refused.text
    assert "verification failed" in refused.json()["error"].lower()
