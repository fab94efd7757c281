"""Web Push end to end: a notification becomes an encrypted, VAPID-signed POST to a real HTTP
endpoint on 127.0.0.1, which the test decrypts with the browser's keys, as a browser would."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import http_ece
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode as decode_jwt
from sqlalchemy import func, select, update

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import PushSubscription
from kinfolk.domain.oauth.models import AccessToken
from kinfolk.infra.vapid import vapid_public_key
from kinfolk.infra.webpush import decode_key
from kinfolk.jobs.models import Job
from kinfolk.kernel.clock import utcnow


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Our push endpoint listens on 127.0.0.1, which the server refuses unless allowed."""
    settings.allowed_private_addresses = "127.0.0.1/32"
    return settings


@dataclass
class PushEndpoint:
    """A stand-in push service: records each request and answers with `status`."""

    url: str
    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
async def endpoint() -> AsyncIterator[PushEndpoint]:
    state = PushEndpoint(url="")

    async def handle(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.read()))
        return web.Response(status=state.status, headers=state.headers)

    app = web.Application()
    app.router.add_post("/push/{token}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/push/device-1"
    try:
        yield state
    finally:
        await runner.cleanup()


@dataclass
class Browser:
    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decrypt(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        if headers["Content-Encoding"] == "aes128gcm":
            plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        else:
            salt = decode_key(headers["Encryption"].removeprefix("salt="))
            crypto_key = dict(part.split("=", 1) for part in headers["Crypto-Key"].split(";"))
            plain = http_ece.decrypt(
                body,
                private_key=self.key,
                auth_secret=self.auth,
                version="aesgcm",
                salt=salt,
                dh=decode_key(crypto_key["dh"]),
            )
        result: dict[str, Any] = orjson.loads(plain)
        return result


async def _subscribe(
    client: Any, user: Any, browser: Browser, url: str, *, standard: bool, **data: str
) -> None:
    form = {
        "subscription[endpoint]": url,
        "subscription[keys][p256dh]": browser.p256dh,
        "subscription[keys][auth]": base64.urlsafe_b64encode(browser.auth).decode(),
        "subscription[standard]": "true" if standard else "false",
        "data[alerts][mention]": "true",
        "data[alerts][follow]": "true",
    } | data
    response = await client.post("/api/v1/push/subscription", data=form, headers=user.headers)
    assert response.status_code == 200, response.text


async def _mention(client: Any, sender: Any, text: str) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text}, headers=sender.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _subscriptions(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(PushSubscription))).scalar_one()
        )


@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "aesgcm"])
async def test_a_mention_arrives_encrypted_and_signed(  # type: ignore[no-untyped-def]
    client, make_user, drain_jobs, container, endpoint, standard
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == bob.account_id).values(display_name="Bob B.")
        )
    browser = Browser.new()
    await _subscribe(client, alice, browser, endpoint.url, standard=standard)
    await _mention(client, bob, "@alice have a look at this")
    await drain_jobs()

    assert len(endpoint.received) == 1
    headers, body = endpoint.received[0]
    assert headers["TTL"] == "172800" and headers["Urgency"] == "normal"
    assert headers["Content-Type"] == "application/octet-stream"
    message = browser.decrypt(headers, body)
    notification = (await client.get("/api/v1/notifications", headers=alice.headers)).json()[0]
    assert message == {
        "access_token": alice.token,
        "preferred_locale": "en",
        "notification_id": notification["id"],
        "notification_type": "mention",
        "icon": "https://kinfolk.test/avatars/original/missing.png",
        "title": "You were mentioned by Bob B.",
        "body": "@alice have a look at this",
    }

    server_key = vapid_public_key(container.settings)
    if standard:
        assert headers["Content-Encoding"] == "aes128gcm"
        scheme, params = headers["Authorization"].split(" ", 1)
        parts = dict(p.split("=", 1) for p in params.split(","))
        assert scheme == "vapid" and parts["k"] == server_key
        claims = decode_jwt(parts["t"], server_key)
    else:
        assert headers["Content-Encoding"] == "aesgcm"
        scheme, token = headers["Authorization"].split(" ", 1)
        assert scheme == "WebPush"
        assert dict(p.split("=", 1) for p in headers["Crypto-Key"].split(";"))["p256ecdsa"] == server_key
        claims = decode_jwt(token, server_key)
    assert claims["aud"] == endpoint.url.rsplit("/push", 1)[0]
    assert claims["sub"] == "https://kinfolk.test"


async def test_alerts_and_policy_decide_what_is_sent(client, make_user, drain_jobs, endpoint) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await _subscribe(
        client, alice, Browser.new(), endpoint.url, standard=True, **{"data[policy]": "followed"}
    )
    await client.post(f"/api/v1/accounts/{carol.account_id}/follow", headers=alice.headers)
    await _mention(client, bob, "@alice from a stranger")
    await _mention(client, carol, "@alice from a friend")
    own = await _mention(client, alice, "fav this")
    await client.post(f"/api/v1/statuses/{own['id']}/favourite", headers=carol.headers)
    await drain_jobs()
    # Only Carol's mention: Bob is not followed, and favourites are not among the alerts.
    assert len(endpoint.received) == 1


async def test_gone_subscriptions_are_removed(client, make_user, drain_jobs, container, endpoint) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _subscribe(client, alice, Browser.new(), endpoint.url, standard=True)
    endpoint.status = 410
    await _mention(client, bob, "@alice hello")
    await drain_jobs()
    assert len(endpoint.received) == 1
    assert await _subscriptions(container) == 0


@pytest.mark.parametrize("status", [429, 503])
async def test_busy_push_services_are_retried(
    client, make_user, drain_jobs, container, endpoint, status
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _subscribe(client, alice, Browser.new(), endpoint.url, standard=True)
    endpoint.status = status
    endpoint.headers = {"Retry-After": "120"}
    await _mention(client, bob, "@alice hello")
    await drain_jobs()
    assert len(endpoint.received) == 1
    assert await _subscriptions(container) == 1
    async with container.db.uow(write=False) as uow:
        job = (await uow.session.execute(select(Job).where(Job.kind == "push.deliver"))).scalar_one()
    assert job.state == "queued" and job.attempts == 1 and str(status) in (job.last_error or "")


async def test_private_endpoints_are_refused_unless_allowed(
    client, make_user, drain_jobs, container, endpoint
) -> None:  # type: ignore[no-untyped-def]
    container.settings.allowed_private_addresses = ""
    container.settings.__dict__.pop("allowed_private_networks", None)
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _subscribe(
        client, alice, Browser.new(), endpoint.url.replace("127.0.0.1", "localhost"), standard=True
    )
    await _mention(client, bob, "@alice hello")
    await drain_jobs()
    assert endpoint.received == []
    assert await _subscriptions(container) == 0


async def test_revoked_tokens_get_no_pushes(client, make_user, drain_jobs, container, endpoint) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _subscribe(client, alice, Browser.new(), endpoint.url, standard=True)
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(AccessToken).where(AccessToken.user_id == alice.user_id).values(revoked_at=utcnow())
        )
    await _mention(client, bob, "@alice hello")
    await drain_jobs()
    assert endpoint.received == []
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(Job.id).where(Job.kind == "push.deliver"))).first() is None
