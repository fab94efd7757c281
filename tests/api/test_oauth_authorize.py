"""GET/POST /oauth/authorize: the sign-in and consent pages, codes, redirects and their refusals."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import func, select, update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import User
from kinfolk.domain.accounts.service import hash_password
from kinfolk.domain.oauth.models import AuthorizationCode
from kinfolk.domain.oauth.service import LOGIN_LIMIT_PER_EMAIL, LOGIN_LIMIT_PER_IP, login_rate_keys

REDIRECT = "https://app.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _count_codes(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        stmt = select(func.count()).select_from(AuthorizationCode)
        return int((await uow.session.execute(stmt)).scalar_one())


async def test_full_authorization_code_flow(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris=[REDIRECT], scopes="read write follow")

    page = await oauth.authorize(app, scope="read write", state="xyz")
    assert page.status_code == 200
    assert 'name="password"' in page.text and "App" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "httponly" in page.headers["set-cookie"].lower()

    signed_in = await oauth.submit(page, email=user.email, password=user.password)
    assert signed_in.status_code == 303
    assert "force_login" not in signed_in.headers["location"]
    consent = await client.get(signed_in.headers["location"])
    assert consent.status_code == 200
    assert "@alice" in consent.text
    assert "<code>read</code>" in consent.text and "<code>write</code>" in consent.text
    assert "<code>follow</code>" not in consent.text
    assert "form-action 'self' https://app.example" in consent.headers["content-security-policy"]

    done = await oauth.submit(consent, action="authorize")
    assert done.status_code == 302
    location = done.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = _query(location)
    assert params["state"] == "xyz"
    assert await _count_codes(container) == 1

    token = await oauth.token(
        app, grant_type="authorization_code", code=params["code"], redirect_uri=REDIRECT
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert isinstance(body["created_at"], int)
    assert "expires_in" not in body
    assert body["refresh_token"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/api/v1/apps/verify_credentials", headers=headers)).status_code == 200


async def test_session_is_reused_without_force_login(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    await oauth.code(app, user.email, user.password)
    page = await oauth.authorize(app)
    assert page.status_code == 200
    assert 'name="password"' not in page.text and "Authorize" in page.text

    forced = await oauth.authorize(app, force_login="true")
    assert forced.status_code == 200
    assert 'name="password"' in forced.text


async def test_force_login_can_switch_accounts(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    app = await oauth.register()
    await oauth.code(app, alice.email, alice.password)
    forced = await oauth.authorize(app, force_login="true")
    consent = await oauth.sign_in(forced, bob.email, bob.password)
    assert "@bob" in consent.text


async def test_oob_shows_the_code_which_works(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    consent = await oauth.sign_in(page, user.email, user.password)
    shown = await oauth.submit(consent, action="authorize")
    assert shown.status_code == 200
    assert 'id="code"' in shown.text
    code = oauth_code_from(shown.text)
    token = await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=OOB)
    assert token.status_code == 200
    assert token.json()["scope"] == "read"


def oauth_code_from(html: str) -> str:
    marker = 'id="code" name="code" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_pkce_flow(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris=REDIRECT)
    verifier = secrets.token_urlsafe(48)
    challenge = create_s256_code_challenge(verifier)
    code = await oauth.code(
        app, user.email, user.password, code_challenge=challenge, code_challenge_method="S256", state="s"
    )
    wrong = await oauth.token(
        app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier="x" * 43
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    missing = await oauth.token(app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert missing.json()["error"] == "invalid_grant"
    good = await oauth.token(
        app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    assert good.status_code == 200, good.text


async def test_verifier_without_challenge_is_refused(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    code = await oauth.code(app, user.email, user.password)
    response = await oauth.token(
        app, grant_type="authorization_code", code=code, redirect_uri=OOB, code_verifier="v" * 50
    )
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "a" * 43}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"scope": "read admin:write"}, "invalid_scope"),
        ({"scope": "read nonsense"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_bad_requests_redirect_an_error_without_code(
    client: httpx.AsyncClient, oauth: Any, container: Container, params: dict[str, str], error: str
) -> None:
    app = await oauth.register(redirect_uris=REDIRECT, scopes="read write")
    response = await oauth.authorize(app, state="st", **params)
    assert response.status_code == 302
    query = _query(response.headers["location"])
    assert query["error"] == error
    assert query["state"] == "st"
    assert "code" not in query
    assert await _count_codes(container) == 0


async def test_scope_not_a_subset_on_oob_shows_an_error_page(client: httpx.AsyncClient, oauth: Any) -> None:
    app = await oauth.register(scopes="read")
    response = await oauth.authorize(app, scope="read write")
    assert response.status_code == 400
    assert "invalid_scope" in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example.evil.com",
        "https://app.example.evil.com/callback",
        "https://app.example/callback/../evil",
        "https://app.example/callbackx",
        "https://app.example/callback?x=1",
        "https://APP.example/callback",
        "https://evil.example/",
        OOB,
        "",
    ],
)
async def test_unregistered_redirect_uri_is_400_without_code(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container, redirect_uri: str
) -> None:
    app = await oauth.register(redirect_uris=["https://app.example", REDIRECT])
    response = await oauth.authorize(app, redirect_uri=redirect_uri, state="s")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "code=" not in response.text
    as_json = await client.get(
        "/oauth/authorize?" + urlencode({"client_id": app["client_id"], "redirect_uri": redirect_uri}),
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"] in ("invalid_redirect_uri", "invalid_request")
    assert await _count_codes(container) == 0


async def test_unregistered_redirect_uri_is_refused_on_post_too(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris="https://app.example")
    page = await oauth.authorize(app)
    consent = await oauth.sign_in(page, user.email, user.password)
    tampered = await oauth.submit(consent, action="authorize", redirect_uri="https://app.example.evil.com")
    assert tampered.status_code == 400
    assert "location" not in tampered.headers
    assert await _count_codes(container) == 0


async def test_unknown_client_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/oauth/authorize?" + urlencode({"client_id": "nope", "redirect_uri": OOB, "response_type": "code"})
    )
    assert response.status_code == 400
    assert "invalid_client" in response.text


async def test_deny_redirects_access_denied(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris=REDIRECT)
    page = await oauth.authorize(app, state="abc")
    consent = await oauth.sign_in(page, user.email, user.password)
    denied = await oauth.submit(consent, action="deny")
    assert denied.status_code == 302
    query = _query(denied.headers["location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "abc"
    assert "code" not in query


async def test_fragment_and_form_post_response_modes(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register(redirect_uris=REDIRECT)
    page = await oauth.authorize(app, response_mode="fragment", state="f")
    consent = await oauth.sign_in(page, user.email, user.password)
    done = await oauth.submit(consent, action="authorize")
    fragment = parse_qs(urlsplit(done.headers["location"]).fragment)
    assert fragment["code"][0] and fragment["state"] == ["f"]

    page = await oauth.authorize(app, response_mode="form_post", state="p")
    done = await oauth.submit(page, action="authorize")
    assert done.status_code == 200
    assert f'action="{REDIRECT}"' in done.text
    assert 'name="code"' in done.text and 'name="state" value="p"' in done.text
    assert "form-action 'self' https://app.example" in done.headers["content-security-policy"]


async def test_csrf_token_is_required(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    forged = await oauth.submit(page, email=user.email, password=user.password, authenticity_token="forged")
    assert forged.status_code == 403
    consent = await oauth.sign_in(page, user.email, user.password)
    forged = await oauth.submit(consent, action="authorize", authenticity_token="")
    assert forged.status_code == 403
    assert 'id="code"' not in forged.text


async def test_csrf_token_changes_on_sign_in(client: httpx.AsyncClient, oauth: Any, make_user: Any) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    before = _hidden(page.text, "authenticity_token")
    consent = await oauth.sign_in(page, user.email, user.password)
    assert _hidden(consent.text, "authenticity_token") != before


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_wrong_password_shows_the_form_again(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    refused = await oauth.submit(page, email=user.email, password="wrong password")
    assert refused.status_code == 401
    assert "Invalid email address or password." in refused.text
    assert 'name="password"' in refused.text
    unknown = await oauth.submit(page, email="nobody@example.com", password="wrong password")
    assert unknown.status_code == 401
    assert "Invalid email address or password." in unknown.text
    again = await oauth.authorize(app)
    assert 'name="password"' in again.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"approved": False}, "waiting for approval"),
        ({"disabled": True}, "has been disabled"),
    ],
)
async def test_unapproved_or_disabled_users_cannot_sign_in(
    client: httpx.AsyncClient,
    oauth: Any,
    make_user: Any,
    container: Container,
    change: dict[str, bool],
    message: str,
) -> None:
    user = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(update(User).where(User.id == user.user_id).values(**change))
    app = await oauth.register()
    page = await oauth.authorize(app)
    refused = await oauth.submit(page, email=user.email, password=user.password)
    assert refused.status_code == 403
    assert message in refused.text


async def test_password_change_ends_web_sessions(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    await oauth.code(app, user.email, user.password)
    async with container.db.uow() as uow:
        new_hash = hash_password("another password")
        await uow.session.execute(update(User).where(User.id == user.user_id).values(password_hash=new_hash))
    page = await oauth.authorize(app)
    assert 'name="password"' in page.text


async def test_tampered_session_cookie_is_ignored(
    client: httpx.AsyncClient, oauth: Any, make_user: Any
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    await oauth.code(app, user.email, user.password)
    cookie = client.cookies.get("kinfolk_session")
    assert cookie
    client.cookies.set("kinfolk_session", cookie[:-2] + "xx", domain="kinfolk.test")
    page = await oauth.authorize(app)
    assert 'name="password"' in page.text


async def test_sign_in_is_rate_limited_by_real_ip(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    limit, period = LOGIN_LIMIT_PER_IP
    ip_key, _ = login_rate_keys("127.0.0.1", "")
    for _ in range(limit - 1):
        await container.ratelimiter.hit(ip_key, limit, period)
    # The last allowed attempt, then a refusal even with the right password: forged
    # X-Forwarded-For headers from an untrusted peer do not change the address counted.
    last = await client.post(
        "/oauth/authorize",
        data=_inputs(page) | {"email": "x@example.com", "password": "nope"},
        headers={"X-Forwarded-For": "203.0.113.1"},
    )
    assert last.status_code == 401
    throttled = await client.post(
        "/oauth/authorize",
        data=_inputs(page) | {"email": user.email, "password": user.password},
        headers={"X-Forwarded-For": "203.0.113.2"},
    )
    assert throttled.status_code == 429
    assert "Too many sign-in attempts" in throttled.text


async def test_sign_in_is_rate_limited_by_email(
    client: httpx.AsyncClient, oauth: Any, make_user: Any, container: Container
) -> None:
    user = await make_user("alice")
    app = await oauth.register()
    page = await oauth.authorize(app)
    limit, period = LOGIN_LIMIT_PER_EMAIL
    _, email_key = login_rate_keys("198.51.100.7", user.email.upper())
    for _ in range(limit):
        await container.ratelimiter.hit(email_key, limit, period)
    throttled = await oauth.submit(page, email=user.email, password=user.password)
    assert throttled.status_code == 429


def _inputs(page: httpx.Response) -> dict[str, str]:
    from html.parser import HTMLParser

    found: dict[str, str] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "input" and values.get("name"):
                found[str(values["name"])] = values.get("value") or ""

    Parser().feed(page.text)
    return found
