"""Web Push subscriptions through the API: one per access token, validated, and invisible to
every other token."""

from __future__ import annotations

import base64
import os
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.notifications.models import PushSubscription
from kinfolk.infra.vapid import vapid_public_key


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


def browser_keys(*, urlsafe: bool = False) -> dict[str, str]:
    """What a browser's PushSubscription gives: a P-256 public key and a 16-byte auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return {"p256dh": encode(public).decode(), "auth": encode(os.urandom(16)).decode()}


def subscribe_form(endpoint: str = "https://push.example/abc", **alerts: bool) -> dict[str, Any]:
    keys = browser_keys()
    form: dict[str, Any] = {
        "subscription[endpoint]": endpoint,
        "subscription[keys][p256dh]": keys["p256dh"],
        "subscription[keys][auth]": keys["auth"],
    }
    for name, value in alerts.items():
        form[f"data[alerts][{name.replace('admin_', 'admin.')}]"] = "1" if value else "0"
    return form


async def _count(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(PushSubscription))).scalar_one()
        )


async def test_subscribe_show_update_delete(client: httpx.AsyncClient, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    form = subscribe_form(
        follow=True, favourite=True, reblog=True, mention=True, poll=True, follow_request=True, status=True
    )
    form["policy"] = "none"  # Mastodon.py sends the policy here; data[policy] is the documented place
    created = await client.post("/api/v1/push/subscription", data=form, headers=alice.headers)
    assert created.status_code == 200, created.text
    body = created.json()
    assert body == {
        "id": body["id"],
        "endpoint": "https://push.example/abc",
        "standard": False,
        "alerts": {
            "mention": True,
            "status": True,
            "reblog": True,
            "follow": True,
            "follow_request": True,
            "favourite": True,
            "poll": True,
        },
        "server_key": vapid_public_key(container.settings),
        "policy": "none",
    }
    assert (await client.get("/api/v1/push/subscription", headers=alice.headers)).json() == body

    updated = await client.put(
        "/api/v1/push/subscription",
        data={
            "data[alerts][mention]": "false",
            "data[alerts][admin.report]": "true",
            "data[policy]": "followed",
        },
        headers=alice.headers,
    )
    assert updated.status_code == 200
    assert updated.json()["alerts"] == {"mention": False, "admin.report": True}
    assert updated.json()["policy"] == "followed" and updated.json()["endpoint"] == body["endpoint"]
    assert (await client.get("/api/v1/push/subscription", headers=alice.headers)).json() == updated.json()

    # A new subscription replaces the token's old one.
    again = await client.post(
        "/api/v1/push/subscription",
        json={
            "subscription": {
                "endpoint": "https://push.example/new",
                "keys": browser_keys(urlsafe=True),
                "standard": True,
            },
            "data": {"alerts": {"mention": True}},
        },
        headers=alice.headers,
    )
    assert again.status_code == 200, again.text
    assert (
        again.json()["standard"] is True
        and again.json()["id"] != body["id"]
        and again.json()["policy"] == "all"
    )
    assert await _count(container) == 1

    deleted = await client.delete("/api/v1/push/subscription", headers=alice.headers)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await client.get("/api/v1/push/subscription", headers=alice.headers)).status_code == 404
    assert (await client.put("/api/v1/push/subscription", data={}, headers=alice.headers)).status_code == 404
    assert (await client.delete("/api/v1/push/subscription", headers=alice.headers)).json() == {}


async def test_each_token_sees_only_its_own(client: httpx.AsyncClient, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    created = await client.post(
        "/api/v1/push/subscription", data=subscribe_form(mention=True), headers=bob.headers
    )
    assert created.status_code == 200
    assert (await client.get("/api/v1/push/subscription", headers=alice.headers)).status_code == 404
    changed = await client.put(
        "/api/v1/push/subscription", data={"data[alerts][mention]": "0"}, headers=alice.headers
    )
    assert changed.status_code == 404
    assert (await client.delete("/api/v1/push/subscription", headers=alice.headers)).status_code == 200
    assert (await client.get("/api/v1/push/subscription", headers=bob.headers)).json() == created.json()


async def test_scope_and_validation(client: httpx.AsyncClient, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    no_push = await make_user("nopush", scopes="read write")
    denied = await client.post("/api/v1/push/subscription", data=subscribe_form(), headers=no_push.headers)
    assert denied.status_code == 403
    assert (await client.get("/api/v1/push/subscription")).status_code == 401

    keys = browser_keys()
    cases = [
        ({"subscription[endpoint]": "not a url"}, "Endpoint"),
        ({"subscription[endpoint]": "ftp://push.example/x"}, "Endpoint"),
        ({"subscription[endpoint]": ""}, "Endpoint"),
        ({"subscription[keys][p256dh]": "bm90IGEga2V5"}, "Key p256dh"),
        ({"subscription[keys][p256dh]": "!!!"}, "Key p256dh"),
        ({"subscription[keys][auth]": base64.b64encode(b"short").decode()}, "Key auth"),
        ({"data[policy]": "friends"}, "Policy"),
    ]
    for change, message in cases:
        form = subscribe_form() | change
        if "subscription[keys][p256dh]" not in change:
            form["subscription[keys][p256dh]"] = keys["p256dh"]
        response = await client.post("/api/v1/push/subscription", data=form, headers=alice.headers)
        assert response.status_code == 422, (change, response.text)
        assert message in response.json()["error"], (change, response.json())
    assert await _count(container) == 0
