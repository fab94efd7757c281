"""All SQL for follow suggestions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.domain.relationships.repo import not_excluded_by
from kinfolk.domain.suggestions.models import SuggestionDismissal
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


async def most_followed(session: AsyncSession, viewer_id: int, now: datetime, limit: int) -> list[Account]:
    """Discoverable local accounts the viewer neither follows, asked to follow, dismissed nor
    shuns, most followed first."""
    followers = func.coalesce(AccountStats.followers_count, 0)
    stmt = (
        select(Account)
        .outerjoin(AccountStats, AccountStats.account_id == Account.id)
        .where(
            Account.domain.is_(None),
            Account.discoverable.is_(True),
            Account.suspended_at.is_(None),
            Account.memorial.is_(False),
            Account.id != viewer_id,
            exists().where(User.account_id == Account.id, User.approved.is_(True), User.disabled.is_(False)),
            ~exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id),
            ~exists().where(
                FollowRequest.account_id == viewer_id, FollowRequest.target_account_id == Account.id
            ),
            ~exists().where(
                SuggestionDismissal.account_id == viewer_id,
                SuggestionDismissal.target_account_id == Account.id,
            ),
            or_(Account.id == viewer_id, not_excluded_by(viewer_id, now)),
        )
        .order_by(followers.desc(), Account.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def account_exists(session: AsyncSession, account_id: int) -> bool:
    result = await session.execute(select(Account.id).where(Account.id == account_id))
    return result.scalar_one_or_none() is not None


async def dismiss(session: AsyncSession, viewer_id: int, target_id: int) -> None:
    await session.execute(
        insert_for(session, SuggestionDismissal)
        .values(id=new_id(), account_id=viewer_id, target_account_id=target_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["account_id", "target_account_id"])
    )
