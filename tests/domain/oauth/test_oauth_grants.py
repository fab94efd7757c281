"""Authorization requests, codes and grants in domain/oauth/grants.py, below the HTTP layer."""

from __future__ import annotations

from typing import Any

import pytest

from kinfolk.container import Container
from kinfolk.domain.oauth import grants, repo, service
from kinfolk.domain.oauth.grants import AuthorizeError
from kinfolk.infra.ratelimit import MemoryRateLimiter
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.errors import OAuthError, TooManyRequests


async def _app(container: Container, **kwargs: Any) -> Any:
    async with container.db.uow() as uow:
        return await service.create_application(
            uow.session, name="A", client_id="cid", client_secret="sec", **kwargs
        )


async def test_authorization_request_defaults(container: Container) -> None:
    await _app(container, redirect_uris=["https://app.example/cb?keep=1"], scopes="read write")
    async with container.db.uow(write=False) as uow:
        req = await grants.validate_authorization_request(
            uow.session,
            {"client_id": "cid", "redirect_uri": "https://app.example/cb?keep=1", "response_type": "code"},
        )
    assert req.scopes == ["read"]
    assert req.response_mode == "query" and not req.force_login and req.state is None
    assert req.hidden_fields() == {
        "client_id": "cid",
        "redirect_uri": "https://app.example/cb?keep=1",
        "response_type": "code",
        "scope": "read",
    }
    target = grants.redirect_target(req, {"code": "abc"})
    assert target == "https://app.example/cb?keep=1&code=abc"
    req.state, req.response_mode = "s t", "fragment"
    assert grants.redirect_target(req, {"code": "abc"}) == "https://app.example/cb?keep=1#code=abc&state=s+t"


async def test_unverifiable_requests_never_redirect(container: Container) -> None:
    await _app(container, redirect_uris=["https://app.example/cb"])
    async with container.db.uow(write=False) as uow:
        for params in (
            {"client_id": "nope", "redirect_uri": "https://app.example/cb"},
            {"client_id": "cid"},
            {"client_id": "cid", "redirect_uri": "https://app.example/cb/"},
        ):
            with pytest.raises(AuthorizeError) as excinfo:
                await grants.validate_authorization_request(uow.session, params)
            assert excinfo.value.redirect is False


async def test_code_can_be_claimed_once(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    await _app(container)
    async with container.db.uow() as uow:
        req = await grants.validate_authorization_request(
            uow.session, {"client_id": "cid", "redirect_uri": service.OOB_REDIRECT, "response_type": "code"}
        )
        found = await repo.get_user_and_account(uow.session, user.user_id)
        assert found is not None
        plain = await grants.create_authorization_code(uow.session, req, found[0])
    async with container.db.uow() as uow:
        code = await repo.find_code(uow.session, ksecrets.digest(plain))
        assert code is not None and code.code_challenge is None
        assert await repo.claim_code(uow.session, code.id)
        assert not await repo.claim_code(uow.session, code.id)


async def test_password_grant_counts_attempts_before_hashing(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    app = await _app(container, scopes="read write")
    limiter = MemoryRateLimiter()
    ip_key, _ = service.login_rate_keys("192.0.2.1", user.email)
    limit, period = service.LOGIN_LIMIT_PER_IP
    for _ in range(limit):
        await limiter.hit(ip_key, limit, period)
    async with container.db.uow(write=False) as uow:
        with pytest.raises(TooManyRequests):
            await grants.check_password_grant(
                uow.session,
                app,
                {"username": user.email, "password": user.password},
                limiter=limiter,
                client_ip="192.0.2.1",
            )
        check = await grants.check_password_grant(
            uow.session,
            app,
            {"username": user.email, "password": user.password, "scope": "read write"},
            limiter=limiter,
            client_ip="192.0.2.2",
        )
    assert check.user_id == user.user_id
    assert check.scopes == ["read", "write"]


async def test_unsupported_grant(container: Container) -> None:
    app = await _app(container)
    async with container.db.uow() as uow:
        with pytest.raises(OAuthError) as excinfo:
            await grants.grant_token(
                uow.session, app, {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
            )
    assert excinfo.value.error == "unsupported_grant_type"
