"""All SQL for media attachments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.statuses.models import ScheduledStatus


async def get(session: AsyncSession, media_id: int, *, for_update: bool = False) -> MediaAttachment | None:
    stmt = select(MediaAttachment).where(MediaAttachment.id == media_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_owned(session: AsyncSession, account_id: int, media_id: int) -> MediaAttachment | None:
    stmt = select(MediaAttachment).where(
        MediaAttachment.id == media_id, MediaAttachment.account_id == account_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def scheduled_media_ids(session: AsyncSession, account_ids: Sequence[int]) -> set[int]:
    """Media that scheduled posts of these accounts will attach when they are published."""
    if not account_ids:
        return set()
    rows = await session.execute(
        select(ScheduledStatus.media_attachment_ids).where(ScheduledStatus.account_id.in_(list(account_ids)))
    )
    return {int(i) for (ids,) in rows for i in ids or []}


async def unattached_local_before(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[MediaAttachment]:
    """Local uploads never attached to a post, oldest first (`status_id IS NULL` uses its index)."""
    stmt = (
        select(MediaAttachment)
        .where(
            MediaAttachment.status_id.is_(None),
            MediaAttachment.remote_url.is_(None),
            MediaAttachment.created_at < cutoff,
        )
        .order_by(MediaAttachment.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def cached_remote_before(
    session: AsyncSession, cutoff: datetime, limit: int, after_id: int = 0
) -> list[MediaAttachment]:
    """Remote media whose cached copy is older than `cutoff`."""
    stmt = (
        select(MediaAttachment)
        .where(
            MediaAttachment.remote_url.is_not(None),
            MediaAttachment.file_key.is_not(None),
            MediaAttachment.created_at < cutoff,
            MediaAttachment.id > after_id,
        )
        .order_by(MediaAttachment.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def delete_ids(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(MediaAttachment).where(MediaAttachment.id.in_(list(ids))))
