"""All SQL for OAuth applications, tokens and codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Result, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth.models import AccessToken, Application, AuthorizationCode


async def get_app_by_client_id(session: AsyncSession, client_id: str) -> Application | None:
    result = await session.execute(select(Application).where(Application.client_id == client_id))
    return result.scalar_one_or_none()


async def get_app_by_name(session: AsyncSession, name: str) -> Application | None:
    result = await session.execute(
        select(Application).where(Application.name == name).order_by(Application.id).limit(1)
    )
    return result.scalar_one_or_none()


def usable_token(now: Any) -> list[ColumnElement[bool]]:
    """What makes a token usable, as conditions on `AccessToken`, `User` and `Account` joined on
    the token's user: not revoked, not expired at `now` (a value or a bound parameter), and a
    token of a user only while that user may log in (approved, not disabled) and their account is
    not suspended. An app-only token has no user to check.

    The one statement of these rules: `lookup_token` (every authenticated request) and the home
    page's fast path (`home_rows.TOKEN_VIEWER`) both select with them, so neither can accept a
    token the other refuses."""
    return [
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
        or_(
            AccessToken.user_id.is_(None),
            and_(
                User.id.is_not(None),
                User.approved.is_(True),
                User.disabled.is_(False),
                Account.id.is_not(None),
                Account.suspended_at.is_(None),
            ),
        ),
    ]


async def find_token(
    session: AsyncSession, token_digest: str, now: datetime
) -> tuple[AccessToken, Application | None, User | None, Account | None] | None:
    """The usable token with its application, user and account in one query (it runs on every
    request); None for an unknown or unusable one (`usable_token`)."""
    stmt = (
        select(AccessToken, Application, User, Account)
        .outerjoin(Application, Application.id == AccessToken.application_id)
        .outerjoin(User, User.id == AccessToken.user_id)
        .outerjoin(Account, Account.id == User.account_id)
        .where(AccessToken.token_digest == token_digest, *usable_token(now))
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return row[0], row[1], row[2], row[3]


async def find_token_by_refresh(session: AsyncSession, refresh_digest: str) -> AccessToken | None:
    result = await session.execute(
        select(AccessToken).where(AccessToken.refresh_token_digest == refresh_digest)
    )
    return result.scalar_one_or_none()


async def find_code(session: AsyncSession, code_digest: str) -> AuthorizationCode | None:
    result = await session.execute(
        select(AuthorizationCode).where(AuthorizationCode.code_digest == code_digest)
    )
    return result.scalar_one_or_none()


async def find_access_token(session: AsyncSession, token_digest: str) -> AccessToken | None:
    result = await session.execute(select(AccessToken).where(AccessToken.token_digest == token_digest))
    return result.scalar_one_or_none()


async def claim_code(session: AsyncSession, code_id: int) -> bool:
    """Mark a code used; False when another request redeemed it first (the UPDATE is the arbiter)."""
    result = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.used.is_(False))
        .values(used=True)
    )
    return _rowcount(result) == 1


async def revoke_token_row(session: AsyncSession, token_id: int, at: datetime) -> bool:
    """Revoke one token; False when it was already revoked (a concurrent refresh won)."""
    result = await session.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return _rowcount(result) == 1


async def revoke_tokens_since(
    session: AsyncSession, *, application_id: int, user_id: int, since: datetime, at: datetime
) -> int:
    result = await session.execute(
        update(AccessToken)
        .where(
            AccessToken.application_id == application_id,
            AccessToken.user_id == user_id,
            AccessToken.created_at >= since,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return _rowcount(result)


async def get_user_and_account(session: AsyncSession, user_id: int) -> tuple[User, Account] | None:
    row = (
        await session.execute(
            select(User, Account).join(Account, Account.id == User.account_id).where(User.id == user_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def get_user_and_account_by_email(session: AsyncSession, email: str) -> tuple[User, Account] | None:
    row = (
        await session.execute(
            select(User, Account)
            .join(Account, Account.id == User.account_id)
            .where(User.email == email.strip().lower())
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def touch_sign_in(session: AsyncSession, user_id: int, at: datetime) -> None:
    await session.execute(update(User).where(User.id == user_id).values(last_sign_in_at=at))


def _rowcount(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
