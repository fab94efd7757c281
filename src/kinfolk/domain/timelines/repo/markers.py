"""Read markers: one row per account and timeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.timelines.models import Marker
from kinfolk.kernel.clock import utcnow


async def markers_for(session: AsyncSession, account_id: int, timelines: Sequence[str]) -> list[Marker]:
    if not timelines:
        return []
    result = await session.execute(
        select(Marker)
        .where(Marker.account_id == account_id, Marker.timeline.in_(list(timelines)))
        .order_by(Marker.timeline)
    )
    return list(result.scalars())


async def marker_for_update(session: AsyncSession, account_id: int, timeline: str) -> Marker | None:
    """The row, locked against a concurrent writer on PostgreSQL (SQLite writers are serialised)."""
    result = await session.execute(
        select(Marker).where(Marker.account_id == account_id, Marker.timeline == timeline).with_for_update()
    )
    return result.scalar_one_or_none()


async def insert_marker(session: AsyncSession, account_id: int, timeline: str, last_read_id: int) -> bool:
    """Create the marker at version 0; False if it existed already (even created concurrently)."""
    result = await session.execute(
        insert_for(session, Marker)
        .values(
            account_id=account_id,
            timeline=timeline,
            last_read_id=last_read_id,
            version=0,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(Marker.account_id)
    )
    return result.first() is not None
