"""POST /api/v1/accounts: sign-up by an application, in each registration mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth.service import create_application, issue_token

SIGNUP = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password": "a fine long password",
    "agreement": "true",
    "locale": "en",
}


async def app_token(container: Container, scopes: str = "read write follow push") -> str:
    """A client_credentials-style token: an application and no user."""
    async with container.db.uow() as uow:
        app = await create_application(uow.session, name="Sign-up app", scopes="read write follow push")
        issued = await issue_token(uow.session, application=app, user=None, scopes=scopes.split())
    return issued.access_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count_accounts(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Account))).scalar_one())


async def user_by_email(container: Container, email: str) -> User | None:
    async with container.db.uow(write=False) as uow:
        result = await uow.session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()


async def test_open_registration_returns_a_working_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    token = await app_token(container, "read write")
    response = await client.post("/api/v1/accounts", data=SIGNUP, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "scope", "created_at"}
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert isinstance(body["created_at"], int)

    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "newbie"
    user = await user_by_email(container, "newbie@example.com")
    assert user is not None and user.approved and user.sign_up_ip == "127.0.0.1" and user.locale == "en"


async def test_json_body_is_accepted(client: httpx.AsyncClient, container: Container) -> None:
    token = await app_token(container)
    payload: dict[str, Any] = {**SIGNUP, "agreement": True}
    response = await client.post("/api/v1/accounts", json=payload, headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_approval_mode_creates_a_waiting_account(
    client: httpx.AsyncClient, container: Container
) -> None:
    container.settings.registrations = "approval"
    token = await app_token(container)
    response = await client.post(
        "/api/v1/accounts", data={**SIGNUP, "reason": "I knit and I post"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    user = await user_by_email(container, "newbie@example.com")
    assert user is not None
    assert user.approved is False
    assert user.reason == "I knit and I post"
    # The token exists but is refused until staff approve the account, and the profile is hidden.
    me = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(response.json()["access_token"])
    )
    assert me.status_code in (401, 403)
    assert (await client.get(f"/api/v1/accounts/{user.account_id}")).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "newbie"})).status_code == 404


async def test_closed_registrations_are_refused(client: httpx.AsyncClient, container: Container) -> None:
    container.settings.registrations = "closed"
    token = await app_token(container)
    response = await client.post("/api/v1/accounts", data=SIGNUP, headers=bearer(token))
    assert response.status_code == 403
    assert "error" in response.json()
    assert await count_accounts(container) == 0


async def test_every_problem_is_reported_and_nothing_is_created(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("taken")
    token = await app_token(container)
    response = await client.post(
        "/api/v1/accounts",
        data={"username": "taken", "email": "not-an-email", "password": "short", "locale": "???"},
        headers=bearer(token),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"].startswith("Validation failed: ")
    details = body["details"]
    assert details["username"][0]["error"] == "ERR_TAKEN"
    assert details["email"][0]["error"] == "ERR_INVALID"
    assert details["password"][0]["error"] == "ERR_TOO_SHORT"
    assert details["agreement"][0]["error"] == "ERR_ACCEPTED"
    assert details["locale"][0]["error"] == "ERR_INCLUSION"
    assert await count_accounts(container) == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("username", "", "ERR_BLANK"),
        ("username", "bad name!", "ERR_INVALID"),
        ("username", "admin", "ERR_RESERVED"),
        ("email", "", "ERR_BLANK"),
        ("password", "", "ERR_BLANK"),
        ("password", "x" * 73, "ERR_TOO_LONG"),
        ("agreement", "false", "ERR_ACCEPTED"),
    ],
)
async def test_single_field_errors(
    client: httpx.AsyncClient, container: Container, field: str, value: str, code: str
) -> None:
    token = await app_token(container)
    response = await client.post("/api/v1/accounts", data={**SIGNUP, field: value}, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["details"][field][0]["error"] == code
    assert await count_accounts(container) == 0


async def test_taken_email_is_case_insensitive(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("first")
    token = await app_token(container)
    response = await client.post(
        "/api/v1/accounts", data={**SIGNUP, "email": "FIRST@example.com"}, headers=bearer(token)
    )
    assert response.status_code == 422
    assert response.json()["details"]["email"][0]["error"] == "ERR_TAKEN"


async def test_token_is_required_with_write_accounts(client: httpx.AsyncClient, container: Container) -> None:
    assert (await client.post("/api/v1/accounts", data=SIGNUP)).status_code == 401
    read_only = await app_token(container, "read")
    response = await client.post("/api/v1/accounts", data=SIGNUP, headers=bearer(read_only))
    assert response.status_code == 403
    narrow = await app_token(container, "write:accounts")
    response = await client.post("/api/v1/accounts", data=SIGNUP, headers=bearer(narrow))
    assert response.status_code == 200, response.text


async def test_sign_ups_are_rate_limited_per_address(client: httpx.AsyncClient, container: Container) -> None:
    token = await app_token(container)
    statuses = []
    remaining = []
    for i in range(6):
        response = await client.post(
            "/api/v1/accounts", data={**SIGNUP, "username": f"u{i}", "agreement": "0"}, headers=bearer(token)
        )
        statuses.append(response.status_code)
        assert response.headers["x-ratelimit-limit"] == "5"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert statuses == [422] * 5 + [429]
    assert remaining == [4, 3, 2, 1, 0, 0]
    assert response.json() == {"error": "Too many requests"}


async def test_addresses_are_checked_as_mastodons_mail_parser_does(
    client: httpx.AsyncClient, container: Container
) -> None:
    """A host without a dot is an address (Mastodon.py's suite signs up `email@localhost12345`);
    text that is no address at all is still refused."""
    token = await app_token(container)
    accepted = await client.post(
        "/api/v1/accounts",
        data={**SIGNUP, "username": "dotless", "email": "email@localhost12345"},
        headers=bearer(token),
    )
    assert accepted.status_code == 200, accepted.text
    assert await user_by_email(container, "email@localhost12345") is not None
    refused = await client.post(
        "/api/v1/accounts",
        data={**SIGNUP, "username": "spaced", "email": "Some One <one@example.com>"},
        headers=bearer(token),
    )
    assert refused.status_code == 422
    assert refused.json()["details"]["email"] == [{"error": "ERR_INVALID", "description": "is invalid"}]


async def test_confirmation_emails(client: httpx.AsyncClient, container: Container, make_user: Any) -> None:
    """Addresses are confirmed at sign-up, so asking for the e-mail again has nothing to do
    (Mastodon.py's suite calls it right after signing up); changing the address is refused."""
    token = await app_token(container)
    signed_up = await client.post("/api/v1/accounts", data=SIGNUP, headers=bearer(token))
    user_token = signed_up.json()["access_token"]
    resend = await client.post("/api/v1/emails/confirmations", headers=bearer(user_token))
    assert resend.status_code == 200 and resend.json() == {}
    change = await client.post(
        "/api/v1/emails/confirmations", data={"email": "other@example.com"}, headers=bearer(user_token)
    )
    assert change.status_code == 403
    assert change.json() == {
        "error": "This method is only available while the e-mail is awaiting confirmation"
    }
    assert await user_by_email(container, "newbie@example.com") is not None
    app_only = await client.post("/api/v1/emails/confirmations", headers=bearer(token))
    assert app_only.status_code == 403
    assert (await client.post("/api/v1/emails/confirmations")).status_code == 401

    check = await client.get("/api/v1/emails/check_confirmation", headers=bearer(user_token))
    assert check.status_code == 200 and check.json() is True
    assert (await client.get("/api/v1/emails/check_confirmation")).status_code == 422
