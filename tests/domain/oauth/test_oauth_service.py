"""Rules in domain/oauth/service.py: registration checks, sign-in refusals, token lookup and revocation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth import service
from kinfolk.domain.oauth.scopes import covers, is_subset, parse_scopes
from kinfolk.domain.oauth.service import (
    OOB_REDIRECT,
    SignInRefused,
    redirect_uri_problem,
    split_redirect_uris,
)
from kinfolk.kernel.errors import OAuthError, Unprocessable


@pytest.mark.parametrize(
    "uri",
    [
        OOB_REDIRECT,
        "https://app.example/callback",
        "http://localhost:4000/cb",
        "http://127.0.0.1:8080/cb?x=1",
        "tusky://oauth",
        "com.example.app:/oauth2redirect",
        "https://[::1]:8443/cb",
    ],
)
def test_acceptable_redirect_uris(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "callback",
        "/callback",
        "//app.example/cb",
        "https://app.example/cb#top",
        "https:///cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://app.example/" + "a" * 2000,
    ],
)
def test_refused_redirect_uris(uri: str) -> None:
    assert redirect_uri_problem(uri) is not None


def test_split_redirect_uris() -> None:
    assert split_redirect_uris("a:b\nc:d  e:f\na:b") == ["a:b", "c:d", "e:f"]
    assert split_redirect_uris(["a:b", "c:d\ne:f"]) == ["a:b", "c:d", "e:f"]
    assert split_redirect_uris(None) == []


def test_scope_helpers() -> None:
    assert parse_scopes("read+write  read") == ["read", "write"]
    assert parse_scopes(None) == ["read"]
    assert covers(["read"], "read:collections")
    assert is_subset(["read:statuses", "write:media"], ["read", "write"])
    assert not is_subset(["read"], ["read:statuses"])


async def test_create_application_defaults_and_errors(container: Container) -> None:
    async with container.db.uow() as uow:
        app = await service.create_application(uow.session, name="CLI", client_id="cid", client_secret="sec")
        assert app.redirect_uri_list == [OOB_REDIRECT]
        assert app.scope_list == ["read"]
    with pytest.raises(Unprocessable) as excinfo:
        async with container.db.uow() as uow:
            await service.create_application(
                uow.session, name="", redirect_uris=["nope"], scopes="read bogus"
            )
    assert set(excinfo.value.details or {}) == {"name", "redirect_uri", "scopes"}


async def test_authenticate_client(container: Container) -> None:
    async with container.db.uow() as uow:
        await service.create_application(uow.session, name="A", client_id="cid", client_secret="sec")
        assert (await service.authenticate_client(uow.session, "cid", "sec")).name == "A"
        for client_id, secret in (("cid", "wrong"), ("cid", None), (None, "sec"), ("other", "sec")):
            with pytest.raises(OAuthError) as excinfo:
                await service.authenticate_client(uow.session, client_id, secret)
            assert excinfo.value.error == "invalid_client" and excinfo.value.status_code == 401


async def test_authenticate_user_reasons(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    async with container.db.uow(write=False) as uow:
        found, account = await service.authenticate_user(uow.session, " ALICE@example.com ", user.password)
        assert found.id == user.user_id and account.id == user.account_id
        with pytest.raises(SignInRefused) as excinfo:
            await service.authenticate_user(uow.session, user.email, "wrong password")
        assert excinfo.value.reason == "invalid"

    from kinfolk.kernel.clock import utcnow

    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == user.account_id).values(suspended_at=utcnow())
        )
    async with container.db.uow(write=False) as uow:
        with pytest.raises(SignInRefused) as excinfo:
            await service.authenticate_user(uow.session, user.email, user.password)
        assert excinfo.value.reason == "suspended"
        assert await service.session_user(uow.session, user.user_id) is None
        assert await service.lookup_token(uow.session, user.token) is None


async def test_lookup_and_revoke_for_client(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    async with container.db.uow() as uow:
        owner = await service.lookup_token(uow.session, user.token)
        assert owner is not None and owner.application is not None
        other = await service.create_application(uow.session, name="Other")
        with pytest.raises(OAuthError) as excinfo:
            await service.revoke_for_client(uow, other, user.token)
        assert excinfo.value.status_code == 403
        await service.revoke_for_client(uow, other, "unknown-token")
        await service.revoke_for_client(uow, owner.application, user.token)
    async with container.db.uow(write=False) as uow:
        assert await service.lookup_token(uow.session, user.token) is None


async def test_disabled_user_tokens_stop_working(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(update(User).where(User.id == user.user_id).values(disabled=True))
    async with container.db.uow(write=False) as uow:
        assert await service.lookup_token(uow.session, user.token) is None
