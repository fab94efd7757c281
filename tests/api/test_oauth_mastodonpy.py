"""End to end with the real Mastodon.py client against a live server: apps, both login flows, revoke."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from mastodon import Mastodon, MastodonIllegalArgumentError, MastodonUnauthorizedError

from kinfolk.container import Container
from kinfolk.domain.accounts.service import NewAccount, create_local_account

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow", "push"]
PASSWORD = "correct horse battery"


async def _make_user(container: Container, username: str, *, approved: bool = True) -> str:
    async with container.db.uow() as uow:
        _account, user = await create_local_account(
            uow.session,
            NewAccount(
                username=username,
                email=f"{username}@example.com",
                password=PASSWORD,
                approved=approved,
                allow_reserved=True,
            ),
            uris=container.uris,
        )
    return user.email


def _api(live: Any, client_id: str, client_secret: str) -> Mastodon:
    return Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=live.url,
        mastodon_version="4.3.0",
        version_check_mode="none",
        ratelimit_method="throw",
    )


def _browser_code(live: Any, parse_html: Any, url: str, email: str) -> str:
    """What a person does in the browser: sign in, authorize, copy the code from the page."""
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=30) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form = parse_html(page.text)
        signed_in = browser.post(form.action, data=form.inputs | {"email": email, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(urljoin(live.url, signed_in.headers["location"]))
        form = parse_html(consent.text)
        shown = browser.post(form.action, data=form.inputs | {"action": "authorize"})
        assert shown.status_code == 200, shown.text
        code: str = parse_html(shown.text).ids["code"]["value"]
        return code


def test_mastodon_py_login_flows(live_server: Any, parse_html: Any) -> None:
    email = live_server.run(_make_user(live_server.container, "alice"))
    client_id, client_secret = Mastodon.create_app(
        "Kinfolk test",
        scopes=SCOPES,
        redirect_uris=OOB,
        website="https://app.example",
        api_base_url=live_server.url,
    )

    # Legacy password grant.
    api = _api(live_server, client_id, client_secret)
    token = api.log_in(username=email, password=PASSWORD, scopes=SCOPES, allow_http=True)
    assert token
    app = api.app_verify_credentials()
    assert app["name"] == "Kinfolk test"
    assert app["website"] == "https://app.example"

    # Authorization code, out of band, the way Mastodon.py documents it.
    api2 = _api(live_server, client_id, client_secret)
    url = api2.auth_request_url(redirect_uris=OOB, scopes=SCOPES, state="st", allow_http=True)
    code = _browser_code(live_server, parse_html, url, email)
    api2.log_in(code=code, scopes=SCOPES, allow_http=True)
    assert api2.app_verify_credentials()["name"] == "Kinfolk test"
    with pytest.raises(MastodonIllegalArgumentError):
        _api(live_server, client_id, client_secret).log_in(code=code, scopes=SCOPES, allow_http=True)

    # Revoking through Mastodon.py ends the token.
    token_of_api2 = api2.access_token
    revoked = Mastodon(
        access_token=api2.access_token,
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=live_server.url,
        mastodon_version="4.3.0",
        ratelimit_method="throw",
    )
    revoked.revoke_access_token(allow_http=True)
    stale = Mastodon(access_token=token_of_api2, api_base_url=live_server.url, mastodon_version="4.3.0")
    with pytest.raises(MastodonUnauthorizedError):
        stale.app_verify_credentials()
    assert api.app_verify_credentials()["name"] == "Kinfolk test"


def test_mastodon_py_with_pkce(live_server: Any, parse_html: Any) -> None:
    """Mastodon.py 2.x has no PKCE parameters: its URL gets a challenge, the exchange is done by hand."""
    email = live_server.run(_make_user(live_server.container, "bob"))
    client_id, client_secret = Mastodon.create_app("PKCE app", scopes=SCOPES, api_base_url=live_server.url)
    api = _api(live_server, client_id, client_secret)
    verifier = secrets.token_urlsafe(64)
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    url += "&" + urlencode(
        {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    )
    code = _browser_code(live_server, parse_html, url, email)
    token_data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": OOB,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    wrong = requests.post(
        f"{live_server.url}/oauth/token", data=token_data | {"code_verifier": "w" * 50}, timeout=30
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    good = requests.post(
        f"{live_server.url}/oauth/token", data=token_data | {"code_verifier": verifier}, timeout=30
    )
    assert good.status_code == 200, good.text
    assert good.json()["scope"] == " ".join(SCOPES)
    user_api = Mastodon(
        access_token=good.json()["access_token"], api_base_url=live_server.url, mastodon_version="4.3.0"
    )
    assert user_api.app_verify_credentials()["name"] == "PKCE app"


def test_mastodon_py_password_login_refused_for_unapproved(live_server: Any) -> None:
    email = live_server.run(_make_user(live_server.container, "carol", approved=False))
    client_id, client_secret = Mastodon.create_app("App", scopes=SCOPES, api_base_url=live_server.url)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        _api(live_server, client_id, client_secret).log_in(
            username=email, password=PASSWORD, scopes=SCOPES, allow_http=True
        )
