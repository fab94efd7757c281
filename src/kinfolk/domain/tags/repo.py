"""All SQL for hashtags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, distinct, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.tags.models import FeaturedTag, StatusTag, Tag, TagFollow
from kinfolk.domain.visibility import account_exists
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import id_floor_for_ms, new_id
from kinfolk.kernel.paging import Page
from kinfolk.text.compose import normalize_tag

# The width of `tags.name` and `tags.display_name`: a longer hashtag stays text, never a tag.
MAX_TAG_NAME = 255


async def get_or_create_tags(
    session: AsyncSession, names: list[str], *, used_at: datetime | None = None
) -> list[Tag]:
    """Tags for `names` (as written), created where missing; concurrent creators don't collide.
    A tag created for a status (`used_at`) is born used then, so it needs no update after."""
    if not names:
        return []
    by_key = {
        key: n
        for n in reversed(names)
        if len(n) <= MAX_TAG_NAME and len(key := normalize_tag(n)) <= MAX_TAG_NAME
    }
    if not by_key:
        return []
    # Most hashtags exist already: read first, and write only the new ones.
    found = {
        t.name: t for t in (await session.execute(select(Tag).where(Tag.name.in_(list(by_key))))).scalars()
    }
    missing = [key for key in by_key if key not in found]
    if missing:
        now = utcnow()
        rows = {
            key: {
                "id": new_id(),
                "name": key,
                "display_name": by_key[key],
                "usable": True,
                "trendable": True,
                "listable": True,
                "created_at": now,
                "last_status_at": used_at,
            }
            for key in missing
        }
        inserted = await session.execute(
            insert_for(session, Tag)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(Tag.name)
        )
        made = set(inserted.scalars())
        # Ours: the rows are in hand, nothing to read back. Another writer's (a race): read.
        for key in made:
            tag = Tag(**rows[key])
            found[key] = tag
        raced = [key for key in missing if key not in made]
        if raced:
            result = await session.execute(select(Tag).where(Tag.name.in_(raced)))
            found.update((t.name, t) for t in result.scalars())
    return [found[normalize_tag(n)] for n in dict.fromkeys(names) if normalize_tag(n) in found]


async def find_tag(session: AsyncSession, name: str) -> Tag | None:
    result = await session.execute(select(Tag).where(Tag.name == normalize_tag(name)))
    return result.scalar_one_or_none()


async def set_status_tags(
    session: AsyncSession,
    status_id: int,
    account_id: int,
    local: bool,
    tags: list[Tag],
    at: datetime,
    *,
    new: bool = False,
) -> None:
    """Make the status carry exactly `tags`; a `new` status has none to compare with."""
    existing: set[int] = set()
    if not new:
        result = await session.execute(select(StatusTag.tag_id).where(StatusTag.status_id == status_id))
        existing = set(result.scalars())
    wanted = {t.id for t in tags}
    for tag_id in existing - wanted:
        await session.execute(
            delete(StatusTag).where(StatusTag.status_id == status_id, StatusTag.tag_id == tag_id)
        )
    for tag_id in wanted - existing:
        session.add(StatusTag(tag_id=tag_id, status_id=status_id, account_id=account_id, local=local))
    # Only when unset or 12 hours old, as Mastodon does: otherwise every post with a popular
    # hashtag queues on that tag's row lock until the post commits (bench/RESULTS.md, G2). The
    # tags in hand tell whether any is that old, so a recent one costs no statement at all.
    horizon = at - timedelta(hours=12)
    if any(t.last_status_at is None or t.last_status_at < horizon for t in tags):
        stale = or_(Tag.last_status_at.is_(None), Tag.last_status_at < horizon)
        await session.execute(update(Tag).where(Tag.id.in_(list(wanted)), stale).values(last_status_at=at))


async def tags_for_statuses(session: AsyncSession, status_ids: list[int]) -> dict[int, list[Tag]]:
    if not status_ids:
        return {}
    result = await session.execute(
        select(StatusTag.status_id, Tag)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(StatusTag.status_id.in_(status_ids))
        .order_by(StatusTag.status_id, Tag.id)
    )
    out: dict[int, list[Tag]] = {}
    for status_id, tag in result.all():
        out.setdefault(status_id, []).append(tag)
    return out


# -- usage history, follows and featured tags ------------------------------------------------


def day_of(session: AsyncSession, column: Any) -> Any:
    """The UTC calendar day of a timestamp column as 'YYYY-MM-DD', on either database."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps naive UTC 'YYYY-MM-DD HH:MM:SS'


def public_use() -> list[ColumnElement[bool]]:
    """The statuses that count as a use of a tag: public, original, not deleted."""
    return [Status.visibility == "public", Status.reblog_of_id.is_(None), Status.deleted_at.is_(None)]


async def daily_uses(
    session: AsyncSession, tag_ids: list[int], since: datetime
) -> list[tuple[int, str, int, int]]:
    """(tag_id, day, statuses, distinct accounts) per tag and UTC day since `since`."""
    if not tag_ids:
        return []
    day = day_of(session, Status.created_at)
    result = await session.execute(
        select(StatusTag.tag_id, day, func.count(), func.count(distinct(StatusTag.account_id)))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id.in_(tag_ids),
            StatusTag.status_id >= id_floor_for_ms(int(since.timestamp() * 1000)),
            Status.created_at >= since,
            *public_use(),
        )
        .group_by(StatusTag.tag_id, day)
    )
    return [(int(t), str(d), int(u), int(a)) for t, d, u, a in result.all()]


async def find_tags(session: AsyncSession, names: list[str]) -> dict[str, Tag]:
    if not names:
        return {}
    result = await session.execute(select(Tag).where(Tag.name.in_(names)))
    return {t.name: t for t in result.scalars()}


async def tags_by_id(session: AsyncSession, ids: list[int]) -> dict[int, Tag]:
    if not ids:
        return {}
    result = await session.execute(select(Tag).where(Tag.id.in_(ids)))
    return {t.id: t for t in result.scalars()}


async def followed_among(session: AsyncSession, account_id: int, tag_ids: list[int]) -> set[int]:
    if not tag_ids:
        return set()
    result = await session.execute(
        select(TagFollow.tag_id).where(TagFollow.account_id == account_id, TagFollow.tag_id.in_(tag_ids))
    )
    return set(result.scalars())


async def featured_among(session: AsyncSession, account_id: int, tag_ids: list[int]) -> set[int]:
    if not tag_ids:
        return set()
    result = await session.execute(
        select(FeaturedTag.tag_id).where(
            FeaturedTag.account_id == account_id, FeaturedTag.tag_id.in_(tag_ids)
        )
    )
    return set(result.scalars())


async def follow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    await session.execute(
        insert_for(session, TagFollow)
        .values(id=new_id(), account_id=account_id, tag_id=tag_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["account_id", "tag_id"])
    )


async def unfollow_tag(session: AsyncSession, account_id: int, tag_id: int) -> None:
    await session.execute(
        delete(TagFollow).where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id)
    )


async def followed_tags(session: AsyncSession, account_id: int, page: Page) -> list[tuple[int, Tag]]:
    stmt = (
        select(TagFollow.id, Tag)
        .join(Tag, Tag.id == TagFollow.tag_id)
        .where(TagFollow.account_id == account_id)
    )
    result = await session.execute(page.apply(stmt, TagFollow.id))
    return page.arrange([(row[0], row[1]) for row in result.all()])


async def featured_tags(session: AsyncSession, account_id: int) -> list[tuple[FeaturedTag, Tag]]:
    result = await session.execute(
        select(FeaturedTag, Tag)
        .join(Tag, Tag.id == FeaturedTag.tag_id)
        .where(FeaturedTag.account_id == account_id)
        .order_by(FeaturedTag.id)
    )
    return [(f, t) for f, t in result.all()]


async def get_featured(session: AsyncSession, account_id: int, featured_id: int) -> FeaturedTag | None:
    result = await session.execute(
        select(FeaturedTag).where(FeaturedTag.id == featured_id, FeaturedTag.account_id == account_id)
    )
    return result.scalar_one_or_none()


async def find_featured(session: AsyncSession, account_id: int, tag_id: int) -> FeaturedTag | None:
    result = await session.execute(
        select(FeaturedTag).where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id == tag_id)
    )
    return result.scalar_one_or_none()


async def count_featured(session: AsyncSession, account_id: int) -> int:
    result = await session.execute(select(func.count()).where(FeaturedTag.account_id == account_id))
    return int(result.scalar_one())


async def add_featured(session: AsyncSession, account_id: int, tag_id: int) -> FeaturedTag:
    await session.execute(
        insert_for(session, FeaturedTag)
        .values(id=new_id(), account_id=account_id, tag_id=tag_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["account_id", "tag_id"])
    )
    found = await find_featured(session, account_id, tag_id)
    assert found is not None
    return found


async def remove_featured(session: AsyncSession, account_id: int, tag_id: int) -> None:
    await session.execute(
        delete(FeaturedTag).where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id == tag_id)
    )


async def account_tag_stats(
    session: AsyncSession, account_id: int, tag_ids: list[int]
) -> dict[int, tuple[int, datetime | None]]:
    """(statuses, last status time) of the account's public and unlisted posts per tag."""
    if not tag_ids:
        return {}
    result = await session.execute(
        select(StatusTag.tag_id, func.count(), func.max(Status.created_at))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            Status.account_id == account_id,
            StatusTag.tag_id.in_(tag_ids),
            Status.visibility.in_(("public", "unlisted")),
            Status.reblog_of_id.is_(None),
            Status.deleted_at.is_(None),
        )
        .group_by(StatusTag.tag_id)
    )
    out: dict[int, tuple[int, datetime | None]] = {}
    for tag_id, count, last in result.all():
        if isinstance(last, str):  # SQLite returns max() of a datetime column as text
            last = datetime.fromisoformat(last).replace(tzinfo=UTC)
        out[int(tag_id)] = (int(count), last)
    return out


async def most_used_by(
    session: AsyncSession, account_id: int, since: datetime, exclude_featured: bool, limit: int
) -> list[Tag]:
    """The account's most used tags since `since`, most used first."""
    uses = func.count().label("uses")
    stmt = (
        select(StatusTag.tag_id, uses)
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            Status.account_id == account_id,
            Status.id >= id_floor_for_ms(int(since.timestamp() * 1000)),
            Status.reblog_of_id.is_(None),
            Status.deleted_at.is_(None),
        )
        .group_by(StatusTag.tag_id)
    )
    if exclude_featured:
        stmt = stmt.where(
            ~exists().where(FeaturedTag.account_id == account_id, FeaturedTag.tag_id == StatusTag.tag_id)
        )
    rows = (await session.execute(stmt.order_by(uses.desc(), StatusTag.tag_id.desc()).limit(limit))).all()
    found = await tags_by_id(session, [r[0] for r in rows])
    return [found[r[0]] for r in rows if r[0] in found]


async def search_tags(
    session: AsyncSession, prefix: str, *, limit: int, offset: int, trendable_only: bool
) -> list[Tag]:
    """Listable tags whose name starts with `prefix` (normalised): the exact name first, then shortest."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "sqlite":
        # GLOB is case-sensitive, so it can use the unique index on the lower-cased names; valid
        # tag names hold no GLOB metacharacters.
        matches: ColumnElement[bool] = Tag.name.op("GLOB")(prefix + "*")
    else:
        matches = Tag.name.startswith(prefix, autoescape=True)
    stmt = select(Tag).where(matches, Tag.listable.is_(True), Tag.usable.is_(True))
    if trendable_only:
        stmt = stmt.where(or_(Tag.trendable.is_(True), Tag.name == prefix))
    stmt = (
        stmt.order_by((Tag.name == prefix).desc(), func.length(Tag.name), Tag.name)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(stmt)).scalars())


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    """An account that exists for the outside (not one awaiting approval)."""
    result = await session.execute(select(Account).where(Account.id == account_id, account_exists()))
    return result.scalar_one_or_none()
