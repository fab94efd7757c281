"""POST /oauth/token: every grant, client authentication, code replay, rotation, hashing, throttling."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from starlette.requests import Request

from kinfolk.api.auth import require
from kinfolk.container import Container
from kinfolk.domain.accounts.models import User
from kinfolk.domain.oauth.models import AuthorizationCode
from kinfolk.domain.oauth.service import LOGIN_LIMIT_PER_IP, login_rate_keys
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Forbidden, Unprocessable

OOB = "urn:ietf:wg:oauth:2.0:oob"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _app_verify(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/v1/apps/verify_credentials", headers=_bearer(token))).status_code


def _request_with(token: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    return Request(scope)


async def test_code_reuse_is_refused_and_revokes_the_first_token(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    code = await oauth.code(app, user.email, user.password)
    first = await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=OOB)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert await _app_verify(client, access) == 200

    again = await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=OOB)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_description"]
    assert await _app_verify(client, access) == 401
    refreshed = await oauth.token(
        app, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_code_is_bound_to_redirect_uri_client_and_time(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris=[OOB, "https://app.example/cb"])
    other = await oauth.register()
    code = await oauth.code(app, user.email, user.password)

    wrong_uri = await oauth.token(
        app, grant_type="authorization_code", code=code, redirect_uri="https://app.example/cb"
    )
    assert wrong_uri.json()["error"] == "invalid_grant"
    no_uri = await oauth.token(app, grant_type="authorization_code", code=code)
    assert no_uri.json()["error"] == "invalid_request"
    other_client = await oauth.token(other, grant_type="authorization_code", code=code, redirect_uri=OOB)
    assert other_client.json()["error"] == "invalid_grant"
    unknown = await oauth.token(app, grant_type="authorization_code", code="not-a-code", redirect_uri=OOB)
    assert unknown.json()["error"] == "invalid_grant"

    async with container.db.uow() as uow:
        await uow.session.execute(
            update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=OOB)
    assert expired.json()["error"] == "invalid_grant"


async def test_client_authentication(client: httpx.AsyncClient, oauth: Any) -> None:
    app = await oauth.register()
    wrong = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": "wrong"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    unknown = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert unknown.status_code == 401
    missing = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert missing.status_code == 401

    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    ok = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["cache-control"] == "no-store"
    bad_basic = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!!"}
    )
    assert bad_basic.status_code == 401


async def test_client_credentials_token_is_app_only(
    client: httpx.AsyncClient, oauth: Any, container: Container
) -> None:
    app = await oauth.register(scopes="read write")
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "read"
    assert "refresh_token" not in body
    assert await _app_verify(client, body["access_token"]) == 200

    async with container.db.uow(write=False) as uow:
        viewer = await require(_request_with(body["access_token"]), uow, "read", user=False)
        assert viewer.user is None and viewer.application is not None
    with pytest.raises(Unprocessable):
        async with container.db.uow(write=False) as uow:
            await require(_request_with(body["access_token"]), uow, "read")

    too_wide = await oauth.token(app, grant_type="client_credentials", scope="read push")
    assert too_wide.status_code == 400
    assert too_wide.json()["error"] == "invalid_scope"


async def test_read_only_token_lacks_write_scope(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register(scopes="read write")
    response = await oauth.token(
        app, grant_type="password", username=user.email, password=user.password, scope="read"
    )
    token = response.json()["access_token"]
    async with container.db.uow(write=False) as uow:
        viewer = await require(_request_with(token), uow, "read:statuses")
        assert viewer.account is not None and viewer.account.id == user.account_id
    with pytest.raises(Forbidden):
        async with container.db.uow(write=False) as uow:
            await require(_request_with(token), uow, "write:statuses")


async def test_password_grant(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    good = await oauth.token(
        app,
        grant_type="password",
        username=user.email.upper(),
        password=user.password,
        scope="read write follow push",
    )
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["scope"] == "read write follow push"
    assert body["refresh_token"]
    assert await _app_verify(client, body["access_token"]) == 200
    async with container.db.uow(write=False) as uow:
        signed_in = (await uow.session.execute(select(User.last_sign_in_at))).scalar_one()
    assert signed_in is not None

    bad = await oauth.token(app, grant_type="password", username=user.email, password="wrong password")
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    nobody = await oauth.token(app, grant_type="password", username="nobody@example.com", password="x")
    assert nobody.json()["error"] == "invalid_grant"
    missing = await oauth.token(app, grant_type="password", username=user.email)
    assert missing.json()["error"] == "invalid_request"
    wide = await oauth.token(
        app, grant_type="password", username=user.email, password=user.password, scope="admin:read"
    )
    assert wide.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("change", "words"),
    [({"approved": False}, "approval"), ({"disabled": True}, "disabled")],
)
async def test_password_grant_refuses_unapproved_and_disabled(
    client: httpx.AsyncClient,
    oauth: Any,
    make_user: Any,
    container: Container,
    change: dict[str, bool],
    words: str,
) -> None:
    user = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(update(User).where(User.id == user.user_id).values(**change))
    app = await oauth.register()
    response = await oauth.token(app, grant_type="password", username=user.email, password=user.password)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert words in response.json()["error_description"]


async def test_password_attempts_are_rate_limited(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    limit, period = LOGIN_LIMIT_PER_IP
    ip_key, _ = login_rate_keys("127.0.0.1", "")
    for _ in range(limit - 1):
        await container.ratelimiter.hit(ip_key, limit, period)
    last = await oauth.token(app, grant_type="password", username=user.email, password="wrong password")
    assert last.status_code == 400
    throttled = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": user.email,
            "password": user.password,
        },
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert throttled.status_code == 429


async def test_refresh_token_rotation(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    other = await oauth.register(name="Other")
    first = (
        await oauth.token(app, grant_type="password", username=user.email, password=user.password)
    ).json()

    stolen = await oauth.token(other, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert stolen.json()["error"] == "invalid_grant"

    second = await oauth.token(app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["access_token"] != first["access_token"]
    assert body["refresh_token"] != first["refresh_token"]
    assert body["scope"] == first["scope"]
    assert await _app_verify(client, body["access_token"]) == 200
    assert await _app_verify(client, first["access_token"]) == 401

    replay = await oauth.token(app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    narrower = await oauth.token(
        app, grant_type="refresh_token", refresh_token=body["refresh_token"], scope="read"
    )
    assert narrower.json()["scope"] == "read"
    wider = await oauth.token(
        app, grant_type="refresh_token", refresh_token=narrower.json()["refresh_token"], scope="read write"
    )
    assert wider.json()["error"] == "invalid_scope"


async def test_grant_type_errors(client: httpx.AsyncClient, oauth: Any) -> None:
    app = await oauth.register()
    missing = await oauth.token(app)
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    unsupported = await oauth.token(app, grant_type="implicit")
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    no_code = await oauth.token(app, grant_type="authorization_code")
    assert no_code.json()["error"] == "invalid_request"
    no_refresh = await oauth.token(app, grant_type="refresh_token")
    assert no_refresh.json()["error"] == "invalid_request"


async def test_tokens_and_codes_are_stored_hashed(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    code = await oauth.code(app, user.email, user.password)
    body = (await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=OOB)).json()
    secrets_issued = [code, body["access_token"], body["refresh_token"]]

    async with container.db.uow(write=False) as uow:
        dump = []
        for table in ("oauth_access_tokens", "oauth_authorization_codes"):
            rows = (await uow.session.execute(text(f"SELECT * FROM {table}"))).all()
            dump.extend(str(value) for row in rows for value in row)
    everything = "\n".join(dump)
    for plain in secrets_issued:
        assert plain not in everything
        assert ksecrets.digest(plain) in everything


async def test_token_endpoint_allows_browser_clients(client: httpx.AsyncClient, oauth: Any) -> None:
    preflight = await client.options(
        "/oauth/token",
        headers={"Origin": "https://phanpy.social", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    app = await oauth.register()
    refused = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": "no"},
        headers={"Origin": "https://phanpy.social"},
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in refused.headers
