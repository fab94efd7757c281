"""GET /.well-known/oauth-authorization-server (RFC 8414)."""

from __future__ import annotations

import httpx

from kinfolk.domain.oauth.scopes import ALL_SCOPES


async def test_authorization_server_metadata(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    base = "https://kinfolk.test"
    assert body["issuer"] == f"{base}/"
    assert body["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert body["token_endpoint"] == f"{base}/oauth/token"
    assert body["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert body["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert "userinfo_endpoint" not in body
    assert set(body["scopes_supported"]) == set(ALL_SCOPES)
    assert body["response_types_supported"] == ["code"]
    assert body["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert set(body["grant_types_supported"]) == {
        "authorization_code",
        "password",
        "client_credentials",
        "refresh_token",
    }
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert body["service_documentation"].startswith("https://")
