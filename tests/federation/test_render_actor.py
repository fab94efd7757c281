"""Local accounts as ActivityPub actors, and the instance actor."""

from __future__ import annotations

from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from tests.federation.helpers import AP, BASE, LD, ap_get, ap_json

CONTEXT_TERMS = (
    "manuallyApprovesFollowers",
    "sensitive",
    "Hashtag",
    "toot",
    "featured",
    "featuredTags",
    "alsoKnownAs",
    "movedTo",
    "schema",
    "PropertyValue",
    "value",
    "discoverable",
    "indexable",
    "Emoji",
    "focalPoint",
    "blurhash",
    "votersCount",
    "memorial",
    "suspended",
    "attributionDomains",
)


async def test_actor_has_every_field(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={
            "display_name": "Alice A.",
            "note": "Hello #world",
            "locked": "true",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://example.com",
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    actor = await ap_json(client, "/users/alice")
    context = actor["@context"]
    assert context[:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert set(CONTEXT_TERMS) <= set(context[2])
    me = f"{BASE}/users/alice"
    assert actor["id"] == me
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice"
    assert actor["name"] == "Alice A."
    assert "Hello" in actor["summary"]
    assert actor["url"] == f"{BASE}/@alice"
    assert actor["inbox"] == f"{me}/inbox"
    assert actor["outbox"] == f"{me}/outbox"
    assert actor["followers"] == f"{me}/followers"
    assert actor["following"] == f"{me}/following"
    assert actor["featured"] == f"{me}/collections/featured"
    assert actor["featuredTags"] == f"{me}/collections/tags"
    assert actor["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert actor["manuallyApprovesFollowers"] is True
    assert actor["discoverable"] is True
    assert actor["indexable"] is False
    assert actor["published"].endswith("T00:00:00Z")
    assert actor["alsoKnownAs"] == []
    assert actor["tag"] == []
    assert actor["attachment"] == [
        {"type": "PropertyValue", "name": "Site", "value": actor["attachment"][0]["value"]}
    ]
    assert "https://example.com" in actor["attachment"][0]["value"]
    key = actor["publicKey"]
    assert key["id"] == f"{me}#main-key"
    assert key["owner"] == me
    public_key = load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    # No avatar or header uploaded: none claimed.
    assert "icon" not in actor and "image" not in actor


async def test_actor_images_have_media_types(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account)
            .where(Account.id == alice.account_id)
            .values(avatar_key="accounts/avatars/1/a.png", header_key="accounts/headers/1/h.jpg")
        )
    actor = await ap_json(client, "/users/alice")
    assert actor["icon"]["type"] == "Image"
    assert actor["icon"]["mediaType"] == "image/png"
    assert actor["icon"]["url"] == container.storage.url("accounts/avatars/1/a.png")
    assert actor["image"]["mediaType"] == "image/jpeg"


async def test_bots_are_services_and_groups_groups(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    bot = await make_user("robot")
    group = await make_user("club")
    async with container.db.uow() as uow:
        await uow.session.execute(update(Account).where(Account.id == bot.account_id).values(bot=True))
        await uow.session.execute(update(Account).where(Account.id == group.account_id).values(group=True))
    assert (await ap_json(client, "/users/robot"))["type"] == "Service"
    assert (await ap_json(client, "/users/club"))["type"] == "Group"


async def test_every_activitypub_media_type_gets_json(client: httpx.AsyncClient, make_user: Any) -> None:
    await make_user("alice")
    for accept in (AP, LD, "application/ld+json", "application/json", f"text/html;q=0.5, {AP}"):
        for path in ("/users/alice", "/@alice", "/users/Alice"):
            actor = await ap_json(client, path, accept)
            assert actor["id"] == f"{BASE}/users/alice"


async def test_unknown_unapproved_and_suspended_accounts_are_missing(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    await make_user("waiting", approved=False)
    gone = await make_user("gone")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == gone.account_id).values(suspended_at=Account.created_at)
        )
    for name in ("nobody", "waiting", "gone"):
        for path in (f"/users/{name}", f"/@{name}", f"/users/{name}/outbox", f"/users/{name}/followers"):
            response = await ap_get(client, path)
            assert response.status_code == 404, (path, response.text)


async def test_instance_actor_is_stable(client: httpx.AsyncClient) -> None:
    first = await ap_json(client, "/actor")
    second = await ap_json(client, "/actor")
    assert first == second
    assert first["id"] == f"{BASE}/actor"
    assert first["type"] == "Application"
    assert first["preferredUsername"] == "kinfolk.test"
    assert first["publicKey"]["id"] == f"{BASE}/actor#main-key"
    assert first["publicKey"]["owner"] == f"{BASE}/actor"
    key = load_pem_public_key(first["publicKey"]["publicKeyPem"].encode())
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048


async def test_instance_key_is_made_once_under_concurrent_first_use(container: Container) -> None:
    import asyncio

    from kinfolk.federation.instance_key import instance_key

    keys = await asyncio.gather(*(instance_key(container.db) for _ in range(4)))
    assert len({k.public_key_pem for k in keys}) == 1
    assert len({k.private_key_pem for k in keys}) == 1
    assert (await instance_key(container.db)) == keys[0]
