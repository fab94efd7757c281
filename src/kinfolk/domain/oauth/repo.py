"""All SQL for OAuth applications, tokens and codes."""

from __future__ import annotations

from sqlalchemy import select
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


async def find_token(
    session: AsyncSession, token_digest: str
) -> tuple[AccessToken, Application | None, User | None, Account | None] | None:
    """The token with its application, user and account in one query (it runs on every request)."""
    stmt = (
        select(AccessToken, Application, User, Account)
        .outerjoin(Application, Application.id == AccessToken.application_id)
        .outerjoin(User, User.id == AccessToken.user_id)
        .outerjoin(Account, Account.id == User.account_id)
        .where(AccessToken.token_digest == token_digest)
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
