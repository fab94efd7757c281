"""All SQL for filters: a viewer's filters with their keywords and statuses, and what matching needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.filters.models import Filter, FilterKeyword, FilterStatus
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.statuses.models import Status


async def list_filters(session: AsyncSession, account_id: int) -> list[Filter]:
    result = await session.execute(select(Filter).where(Filter.account_id == account_id).order_by(Filter.id))
    return list(result.scalars())


async def active_filters(session: AsyncSession, account_id: int, now: datetime) -> list[Filter]:
    """Filters that have not expired; the context is checked in Python (it is a JSON list)."""
    result = await session.execute(
        select(Filter)
        .where(Filter.account_id == account_id, or_(Filter.expires_at.is_(None), Filter.expires_at > now))
        .order_by(Filter.id)
    )
    return list(result.scalars())


async def get_filter(session: AsyncSession, account_id: int, filter_id: int) -> Filter | None:
    result = await session.execute(
        select(Filter).where(Filter.id == filter_id, Filter.account_id == account_id)
    )
    return result.scalar_one_or_none()


async def keywords_for(session: AsyncSession, filter_ids: list[int]) -> dict[int, list[FilterKeyword]]:
    out: dict[int, list[FilterKeyword]] = {i: [] for i in filter_ids}
    if not filter_ids:
        return out
    result = await session.execute(
        select(FilterKeyword).where(FilterKeyword.filter_id.in_(filter_ids)).order_by(FilterKeyword.id)
    )
    for keyword in result.scalars():
        out[keyword.filter_id].append(keyword)
    return out


async def statuses_for(session: AsyncSession, filter_ids: list[int]) -> dict[int, list[FilterStatus]]:
    out: dict[int, list[FilterStatus]] = {i: [] for i in filter_ids}
    if not filter_ids:
        return out
    result = await session.execute(
        select(FilterStatus).where(FilterStatus.filter_id.in_(filter_ids)).order_by(FilterStatus.id)
    )
    for row in result.scalars():
        out[row.filter_id].append(row)
    return out


async def get_keyword(
    session: AsyncSession, account_id: int, keyword_id: int
) -> tuple[FilterKeyword, Filter] | None:
    result = await session.execute(
        select(FilterKeyword, Filter)
        .join(Filter, Filter.id == FilterKeyword.filter_id)
        .where(FilterKeyword.id == keyword_id, Filter.account_id == account_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def keywords_of_account(session: AsyncSession, account_id: int) -> list[tuple[FilterKeyword, Filter]]:
    result = await session.execute(
        select(FilterKeyword, Filter)
        .join(Filter, Filter.id == FilterKeyword.filter_id)
        .where(Filter.account_id == account_id)
        .order_by(FilterKeyword.id)
    )
    return [(k, f) for k, f in result.all()]


async def count_keywords(session: AsyncSession, filter_id: int) -> int:
    result = await session.execute(select(func.count()).where(FilterKeyword.filter_id == filter_id))
    return int(result.scalar_one())


async def get_filter_status(
    session: AsyncSession, account_id: int, row_id: int
) -> tuple[FilterStatus, Filter] | None:
    result = await session.execute(
        select(FilterStatus, Filter)
        .join(Filter, Filter.id == FilterStatus.filter_id)
        .where(FilterStatus.id == row_id, Filter.account_id == account_id)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def find_filter_status(session: AsyncSession, filter_id: int, status_id: int) -> FilterStatus | None:
    result = await session.execute(
        select(FilterStatus).where(FilterStatus.filter_id == filter_id, FilterStatus.status_id == status_id)
    )
    return result.scalar_one_or_none()


async def status_exists(session: AsyncSession, status_id: int) -> bool:
    result = await session.execute(
        select(Status.id).where(Status.id == status_id, Status.deleted_at.is_(None))
    )
    return result.scalar_one_or_none() is not None


async def add(session: AsyncSession, row: Filter | FilterKeyword | FilterStatus) -> None:
    session.add(row)
    await session.flush()


async def remove(session: AsyncSession, row: Filter | FilterKeyword | FilterStatus) -> None:
    await session.delete(row)
    await session.flush()


async def delete_filter(session: AsyncSession, filter_id: int) -> None:
    """Children first: SQLite only cascades when foreign keys are switched on."""
    await session.execute(delete(FilterKeyword).where(FilterKeyword.filter_id == filter_id))
    await session.execute(delete(FilterStatus).where(FilterStatus.filter_id == filter_id))
    await session.execute(delete(Filter).where(Filter.id == filter_id))


# What keyword matching reads from a page of statuses: one query each, whatever the page size.


async def statuses_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Status]:
    if not ids:
        return {}
    result = await session.execute(select(Status).where(Status.id.in_(ids)))
    return {s.id: s for s in result.scalars()}


async def media_descriptions(session: AsyncSession, status_ids: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not status_ids:
        return out
    result = await session.execute(
        select(MediaAttachment.status_id, MediaAttachment.description)
        .where(MediaAttachment.status_id.in_(status_ids), MediaAttachment.description != "")
        .order_by(MediaAttachment.position)
    )
    for status_id, description in result.all():
        if status_id is not None:
            out.setdefault(status_id, []).append(description)
    return out


async def poll_options(session: AsyncSession, poll_ids: set[int]) -> dict[int, list[str]]:
    if not poll_ids:
        return {}
    result = await session.execute(select(Poll.id, Poll.options).where(Poll.id.in_(poll_ids)))
    return {poll_id: list(options or []) for poll_id, options in result.all()}
