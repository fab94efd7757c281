"""All SQL for hashtags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.tags.models import StatusTag, Tag
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id
from kinfolk.text.compose import normalize_tag


async def get_or_create_tags(session: AsyncSession, names: list[str]) -> list[Tag]:
    """Tags for `names` (as written), created where missing; concurrent creators don't collide."""
    if not names:
        return []
    by_key = {normalize_tag(n): n for n in reversed(names)}
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "name": key,
            "display_name": shown,
            "usable": True,
            "trendable": True,
            "listable": True,
            "created_at": now,
        }
        for key, shown in by_key.items()
    ]
    await session.execute(
        insert_for(session, Tag).values(rows).on_conflict_do_nothing(index_elements=["name"])
    )
    result = await session.execute(select(Tag).where(Tag.name.in_(list(by_key))))
    found = {t.name: t for t in result.scalars()}
    return [found[normalize_tag(n)] for n in dict.fromkeys(names) if normalize_tag(n) in found]


async def find_tag(session: AsyncSession, name: str) -> Tag | None:
    result = await session.execute(select(Tag).where(Tag.name == normalize_tag(name)))
    return result.scalar_one_or_none()


async def set_status_tags(
    session: AsyncSession, status_id: int, account_id: int, local: bool, tags: list[Tag], at: datetime
) -> None:
    existing = set(
        (await session.execute(select(StatusTag.tag_id).where(StatusTag.status_id == status_id))).scalars()
    )
    wanted = {t.id for t in tags}
    for tag_id in existing - wanted:
        await session.execute(
            StatusTag.__table__.delete().where(StatusTag.status_id == status_id, StatusTag.tag_id == tag_id)
        )
    for tag_id in wanted - existing:
        session.add(StatusTag(tag_id=tag_id, status_id=status_id, account_id=account_id, local=local))
    if tags:
        await session.execute(update(Tag).where(Tag.id.in_(list(wanted))).values(last_status_at=at))


async def tags_for_statuses(session: AsyncSession, status_ids: list[int]) -> dict[int, list[Tag]]:
    if not status_ids:
        return {}
    result = await session.execute(
        select(StatusTag.status_id, Tag)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(StatusTag.status_id.in_(status_ids))
    )
    out: dict[int, list[Tag]] = {}
    for status_id, tag in result.all():
        out.setdefault(status_id, []).append(tag)
    return out
