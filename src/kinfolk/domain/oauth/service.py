"""Applications and tokens: creation, issuing, lookup. Secrets leave here once, in plain text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth import repo
from kinfolk.domain.oauth.models import AccessToken, Application
from kinfolk.domain.oauth.scopes import parse_scopes, unknown_scopes
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"


@dataclass
class IssuedToken:
    row: AccessToken
    access_token: str
    refresh_token: str | None


def validate_scopes(scopes: list[str]) -> None:
    bad = unknown_scopes(scopes)
    if bad:
        raise Unprocessable(
            f"Validation failed: Scopes are invalid: {' '.join(bad)}",
            details={"scopes": [{"error": "ERR_INVALID", "description": "is invalid"}]},
        )


async def create_application(
    session: AsyncSession,
    *,
    name: str,
    redirect_uris: list[str] | None = None,
    scopes: str | list[str] | None = None,
    website: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    owner_user_id: int | None = None,
) -> Application:
    scope_list = parse_scopes(scopes)
    validate_scopes(scope_list)
    app = Application(
        name=name,
        website=website or None,
        redirect_uris="\n".join(redirect_uris or [OOB_REDIRECT]),
        scopes=" ".join(scope_list),
        client_id=client_id or ksecrets.new_token(32),
        client_secret=client_secret or ksecrets.new_token(32),
        owner_user_id=owner_user_id,
    )
    session.add(app)
    await session.flush()
    return app


async def issue_token(
    session: AsyncSession,
    *,
    application: Application | None,
    user: User | None,
    scopes: list[str],
    with_refresh: bool = True,
    token_value: str | None = None,
) -> IssuedToken:
    access = token_value or ksecrets.new_token(32)
    refresh = ksecrets.new_token(32) if with_refresh and user is not None else None
    row = AccessToken(
        token_digest=ksecrets.digest(access),
        refresh_token_digest=ksecrets.digest(refresh) if refresh else None,
        application_id=application.id if application else None,
        user_id=user.id if user else None,
        scopes=" ".join(scopes),
    )
    session.add(row)
    await session.flush()
    return IssuedToken(row=row, access_token=access, refresh_token=refresh)


@dataclass
class TokenOwner:
    token: AccessToken
    application: Application | None
    user: User | None
    account: Account | None


async def lookup_token(session: AsyncSession, plain: str) -> TokenOwner | None:
    """A usable token: not revoked, not expired, and its user (if any) allowed to log in."""
    found = await repo.find_token(session, ksecrets.digest(plain))
    if found is None:
        return None
    token, app, user, account = found
    if token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    user_gone = user is None or account is None or not user.can_log_in or account.suspended_at is not None
    if token.user_id is not None and user_gone:
        return None
    return TokenOwner(token, app, user, account)


async def revoke(session: AsyncSession, token: AccessToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
