"""Read markers: where an account stopped reading its home timeline and its notifications, so
that several apps resume at the same place. `version` counts the changes (Mastodon's lock
version): a new marker is at 0, each change adds one, saving the same position changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.timelines.models import Marker
from kinfolk.domain.timelines.repo import markers as repo
from kinfolk.kernel.clock import utcnow

TIMELINES = ("home", "notifications")


async def markers(session: AsyncSession, account_id: int, timelines: Sequence[str]) -> list[Marker]:
    wanted = [t for t in dict.fromkeys(timelines) if t in TIMELINES]
    return await repo.markers_for(session, account_id, wanted)


async def save(uow: UnitOfWork, account_id: int, positions: Mapping[str, int]) -> list[Marker]:
    """Save `positions` (timeline -> last read id) for the known timelines; returns them."""
    session = uow.session
    saved: list[Marker] = []
    for timeline in TIMELINES:
        if timeline not in positions:
            continue
        last_read_id = positions[timeline]
        if not await repo.insert_marker(session, account_id, timeline, last_read_id):
            marker = await repo.marker_for_update(session, account_id, timeline)
            if marker is not None and marker.last_read_id != last_read_id:
                marker.last_read_id = last_read_id
                marker.version += 1
                marker.updated_at = utcnow()
        await session.flush()
    if positions:
        saved = await repo.markers_for(session, account_id, [t for t in TIMELINES if t in positions])
    return saved
