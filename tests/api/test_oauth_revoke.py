"""POST /oauth/revoke (RFC 7009, with Mastodon's 403 for someone else's token)."""

from __future__ import annotations

from typing import Any

import httpx


async def _verify(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get(
        "/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


async def _password_token(oauth: Any, app: dict[str, Any], user: Any) -> dict[str, Any]:
    response = await oauth.token(app, grant_type="password", username=user.email, password=user.password)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_revoke_own_token(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    body = await _password_token(oauth, app, user)
    assert await _verify(client, body["access_token"]) == 200
    response = await client.post(
        "/oauth/revoke",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "token": body["access_token"],
        },
    )
    assert response.status_code == 200
    assert response.json() == {}
    assert await _verify(client, body["access_token"]) == 401
    refreshed = await oauth.token(app, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"
    again = await client.post(
        "/oauth/revoke",
        data={
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "token": body["access_token"],
        },
    )
    assert again.status_code == 200


async def test_revoke_by_refresh_token_and_app_token(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    body = await _password_token(oauth, app, user)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    response = await client.post("/oauth/revoke", data=creds | {"token": body["refresh_token"]})
    assert response.status_code == 200
    assert await _verify(client, body["access_token"]) == 401

    app_token = (await oauth.token(app, grant_type="client_credentials")).json()["access_token"]
    response = await client.post("/oauth/revoke", json=creds | {"token": app_token})
    assert response.status_code == 200
    assert await _verify(client, app_token) == 401


async def test_unknown_token_is_still_200(client: httpx.AsyncClient, oauth: Any) -> None:
    app = await oauth.register()
    response = await client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], "token": "never-issued"},
    )
    assert response.status_code == 200
    assert response.json() == {}


async def test_revoke_refuses_bad_client_or_foreign_token(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    other = await oauth.register(name="Other")
    body = await _password_token(oauth, app, user)

    wrong_secret = await client.post(
        "/oauth/revoke",
        data={"client_id": app["client_id"], "client_secret": "wrong", "token": body["access_token"]},
    )
    assert wrong_secret.status_code == 403
    assert wrong_secret.json()["error"] == "unauthorized_client"

    foreign = await client.post(
        "/oauth/revoke",
        data={
            "client_id": other["client_id"],
            "client_secret": other["client_secret"],
            "token": body["access_token"],
        },
    )
    assert foreign.status_code == 403
    assert foreign.json() == {
        "error": "unauthorized_client",
        "error_description": "You are not authorized to revoke this token",
    }
    assert await _verify(client, body["access_token"]) == 200

    no_token = await client.post(
        "/oauth/revoke", data={"client_id": app["client_id"], "client_secret": app["client_secret"]}
    )
    assert no_token.status_code == 400
    assert no_token.json()["error"] == "invalid_request"
