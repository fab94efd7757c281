"""All SQL for trends: the aggregations the periodic job runs, and the cheap reads requests do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, distinct, func, insert, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.relationships.repo import not_excluded_by
from kinfolk.domain.statuses.models import Favourite, Status
from kinfolk.domain.tags.models import StatusTag, Tag
from kinfolk.domain.tags.repo import day_of
from kinfolk.domain.trends.models import TrendEntry
from kinfolk.kernel.ids import id_floor_for_ms


def _floor(moment: datetime) -> int:
    return id_floor_for_ms(int(moment.timestamp() * 1000))


def _trendable_author() -> ColumnElement[bool]:
    """Authors whose posts may trend: discoverable, neither suspended nor silenced."""
    return and_(Account.discoverable.is_(True), Account.suspended_at.is_(None), Account.silenced_at.is_(None))


def _public_original() -> list[ColumnElement[bool]]:
    return [Status.visibility == "public", Status.reblog_of_id.is_(None), Status.deleted_at.is_(None)]


@dataclass(frozen=True)
class DailyUse:
    key: Any  # a tag id or a URL
    day: str
    uses: int
    accounts: int


async def tag_scores(
    session: AsyncSession, since: datetime, *, min_accounts: int, limit: int
) -> list[tuple[int, int]]:
    """(tag id, distinct accounts since `since`) for trendable tags, best first."""
    accounts = func.count(distinct(StatusTag.account_id)).label("accounts")
    stmt = (
        select(StatusTag.tag_id, accounts)
        .join(Status, Status.id == StatusTag.status_id)
        .join(Account, Account.id == Status.account_id)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(
            StatusTag.status_id >= _floor(since),
            Status.created_at >= since,
            *_public_original(),
            _trendable_author(),
            Tag.trendable.is_(True),
            Tag.usable.is_(True),
            Tag.listable.is_(True),
        )
        .group_by(StatusTag.tag_id)
        .having(func.count(distinct(StatusTag.account_id)) >= min_accounts)
        .order_by(accounts.desc(), func.count().desc(), StatusTag.tag_id.desc())
        .limit(limit)
    )
    return [(int(t), int(a)) for t, a in (await session.execute(stmt)).all()]


async def tag_daily_uses(session: AsyncSession, tag_ids: list[int], since: datetime) -> list[DailyUse]:
    if not tag_ids:
        return []
    day = day_of(session, Status.created_at)
    stmt = (
        select(StatusTag.tag_id, day, func.count(), func.count(distinct(StatusTag.account_id)))
        .join(Status, Status.id == StatusTag.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(
            StatusTag.tag_id.in_(tag_ids),
            StatusTag.status_id >= _floor(since),
            Status.created_at >= since,
            *_public_original(),
            _trendable_author(),
        )
        .group_by(StatusTag.tag_id, day)
    )
    return [DailyUse(int(t), str(d), int(u), int(a)) for t, d, u, a in (await session.execute(stmt)).all()]


async def status_scores(
    session: AsyncSession, created_since: datetime, interacted_since: datetime, *, min_score: int, limit: int
) -> list[tuple[int, int]]:
    """(status id, favourites + boosts since `interacted_since`) of recent public posts, best first."""
    boost = select(Status.reblog_of_id.label("status_id")).where(
        Status.reblog_of_id.is_not(None),
        Status.id >= _floor(interacted_since),
        Status.deleted_at.is_(None),
    )
    favourite = select(Favourite.status_id.label("status_id")).where(
        Favourite.id >= _floor(interacted_since), Favourite.created_at >= interacted_since
    )
    interactions = union_all(boost, favourite).subquery()
    score = func.count().label("score")
    stmt = (
        select(Status.id, score)
        .join(interactions, interactions.c.status_id == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.id >= _floor(created_since),
            Status.created_at >= created_since,
            *_public_original(),
            _trendable_author(),
        )
        .group_by(Status.id)
        .having(func.count() >= min_score)
        .order_by(score.desc(), Status.id.desc())
        .limit(limit)
    )
    return [(int(s), int(c)) for s, c in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class RecentPost:
    status_id: int
    account_id: int
    local: bool
    text: str
    content: str
    created_at: datetime


async def recent_public_posts(session: AsyncSession, since: datetime, limit: int) -> list[RecentPost]:
    """Public original posts since `since` (newest first, capped) whose text may hold links."""
    stmt = (
        select(Status.id, Status.account_id, Status.local, Status.text, Status.content, Status.created_at)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.id >= _floor(since),
            Status.created_at >= since,
            *_public_original(),
            _trendable_author(),
            or_(Status.text.contains("http"), Status.content.contains("http")),
        )
        .order_by(Status.id.desc())
        .limit(limit)
    )
    return [RecentPost(*row) for row in (await session.execute(stmt)).all()]


# -- the stored ranking ------------------------------------------------------------------------


async def replace_entries(session: AsyncSession, kind: str, rows: list[dict[str, Any]]) -> None:
    await session.execute(delete(TrendEntry).where(TrendEntry.kind == kind))
    if rows:
        await session.execute(insert(TrendEntry), rows)


async def entries(session: AsyncSession, kind: str, limit: int, offset: int) -> list[TrendEntry]:
    result = await session.execute(
        select(TrendEntry)
        .where(TrendEntry.kind == kind)
        .order_by(TrendEntry.rank)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars())


async def trending_tags(session: AsyncSession, limit: int, offset: int) -> list[tuple[TrendEntry, Tag]]:
    """Stored tag trends whose tag is still trendable (a moderator may have changed it since)."""
    result = await session.execute(
        select(TrendEntry, Tag)
        .join(Tag, Tag.id == TrendEntry.tag_id)
        .where(TrendEntry.kind == "tags", Tag.trendable.is_(True), Tag.listable.is_(True))
        .order_by(TrendEntry.rank)
        .limit(limit)
        .offset(offset)
    )
    return [(e, t) for e, t in result.all()]


async def trending_statuses(
    session: AsyncSession, viewer_id: int | None, now: datetime, limit: int, offset: int
) -> list[Status]:
    """Stored status trends still public, not deleted and not hidden from the viewer."""
    stmt = (
        select(Status)
        .join(TrendEntry, and_(TrendEntry.status_id == Status.id, TrendEntry.kind == "statuses"))
        .join(Account, Account.id == Status.account_id)
        .where(*_public_original(), Account.suspended_at.is_(None))
    )
    if viewer_id is not None:
        stmt = stmt.where(or_(Account.id == literal(viewer_id), not_excluded_by(viewer_id, now)))
    result = await session.execute(stmt.order_by(TrendEntry.rank).limit(limit).offset(offset))
    return list(result.scalars())
