"""Hashtags as people use them: lookup with usage history, following, and featuring on profiles.

A name is checked before anything is created: text with no hashtag in it is simply not found
(as Mastodon answers), anything else that is not a whole valid hashtag is a validation error.
Following or featuring a tag nobody has used yet creates it, so the follow catches the first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.tags import repo
from kinfolk.domain.tags.models import FeaturedTag, Tag
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.paging import Page, Paged

HISTORY_DAYS = 7
FEATURED_LIMIT = 10
SUGGESTIONS_LIMIT = 10
SUGGESTIONS_WINDOW = timedelta(days=90)
MAX_NAME = 255

# What posting recognises as a hashtag name: word characters (and the middle dot) with at
# least one letter. Kept in step with kinfolk.text.compose.
_NAME = re.compile(r"[\w·]*[^\W\d_·][\w·]*")
_ANY_TAG_TEXT = re.compile(r"[^\W\d_]")


@dataclass
class TagView:
    """A tag as shown to one viewer; `tag` is None for a valid name nobody has used yet."""

    name: str
    tag: Tag | None
    history: list[dict[str, str]]
    following: bool | None
    featuring: bool | None


@dataclass
class FeaturedView:
    featured: FeaturedTag
    tag: Tag
    statuses_count: int
    last_status_at: datetime | None


def check_name(raw: str) -> str:
    """The name as written (without a leading '#'), or NotFound / Unprocessable."""
    name = raw.strip().removeprefix("#")
    if not _ANY_TAG_TEXT.search(name):
        raise NotFound()
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise Unprocessable("Validation failed: Name is not a valid hashtag")
    return name


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def histories(
    session: AsyncSession, tag_ids: list[int], *, days: int = HISTORY_DAYS, now: datetime | None = None
) -> dict[int, list[dict[str, str]]]:
    """`days` days of {day, uses, accounts} per tag, today first, in one query."""
    today = _day_start(now or utcnow())
    since = today - timedelta(days=days - 1)
    counts: dict[tuple[int, str], tuple[int, int]] = {
        (tag_id, day): (uses, accounts)
        for tag_id, day, uses, accounts in await repo.daily_uses(session, tag_ids, since)
    }
    calendar = [today - timedelta(days=i) for i in range(days)]
    out: dict[int, list[dict[str, str]]] = {}
    for tag_id in tag_ids:
        entries = []
        for day in calendar:
            uses, accounts = counts.get((tag_id, day.strftime("%Y-%m-%d")), (0, 0))
            entries.append({"day": str(int(day.timestamp())), "uses": str(uses), "accounts": str(accounts)})
        out[tag_id] = entries
    return out


def empty_history(now: datetime | None = None) -> list[dict[str, str]]:
    today = _day_start(now or utcnow())
    return [
        {"day": str(int((today - timedelta(days=i)).timestamp())), "uses": "0", "accounts": "0"}
        for i in range(HISTORY_DAYS)
    ]


async def views(session: AsyncSession, tags: list[Tag], viewer_id: int | None) -> list[TagView]:
    """A page of tags for one viewer in a fixed number of queries."""
    ids = [t.id for t in tags]
    history = await histories(session, ids)
    following = await repo.followed_among(session, viewer_id, ids) if viewer_id is not None else set()
    featuring = await repo.featured_among(session, viewer_id, ids) if viewer_id is not None else set()
    return [
        TagView(
            name=t.display_name or t.name,
            tag=t,
            history=history[t.id],
            following=(t.id in following) if viewer_id is not None else None,
            featuring=(t.id in featuring) if viewer_id is not None else None,
        )
        for t in tags
    ]


async def show(session: AsyncSession, raw_name: str, viewer_id: int | None) -> TagView:
    name = check_name(raw_name)
    tag = await repo.find_tag(session, name)
    if tag is None:
        return TagView(
            name=name,
            tag=None,
            history=empty_history(),
            following=False if viewer_id is not None else None,
            featuring=False if viewer_id is not None else None,
        )
    return (await views(session, [tag], viewer_id))[0]


async def _tag_for_write(session: AsyncSession, raw_name: str) -> Tag:
    name = check_name(raw_name)
    (tag,) = await repo.get_or_create_tags(session, [name])
    return tag


async def follow(uow: UnitOfWork, account_id: int, raw_name: str) -> TagView:
    tag = await _tag_for_write(uow.session, raw_name)
    await repo.follow_tag(uow.session, account_id, tag.id)
    return (await views(uow.session, [tag], account_id))[0]


async def unfollow(uow: UnitOfWork, account_id: int, raw_name: str) -> TagView:
    name = check_name(raw_name)
    tag = await repo.find_tag(uow.session, name)
    if tag is not None:
        await repo.unfollow_tag(uow.session, account_id, tag.id)
    return await show(uow.session, name, account_id)


async def followed(session: AsyncSession, account_id: int, page: Page) -> Paged[TagView]:
    rows = await repo.followed_tags(session, account_id, page)
    shown = await views(session, [t for _, t in rows], account_id)
    return Paged(items=shown, ids=[pid for pid, _ in rows])


# -- featured tags ----------------------------------------------------------------------------


async def _featured_views(
    session: AsyncSession, account_id: int, rows: list[tuple[FeaturedTag, Tag]]
) -> list[FeaturedView]:
    stats = await repo.account_tag_stats(session, account_id, [t.id for _, t in rows])
    return [FeaturedView(f, t, *stats.get(t.id, (0, None))) for f, t in rows]


async def list_featured(session: AsyncSession, account_id: int) -> list[FeaturedView]:
    return await _featured_views(session, account_id, await repo.featured_tags(session, account_id))


async def _feature(uow: UnitOfWork, account_id: int, raw_name: str) -> tuple[FeaturedTag, Tag]:
    session = uow.session
    tag = await _tag_for_write(session, raw_name)
    existing = await repo.find_featured(session, account_id, tag.id)
    if existing is not None:
        return existing, tag
    if await repo.count_featured(session, account_id) >= FEATURED_LIMIT:
        raise Unprocessable(f"Validation failed: You can only feature up to {FEATURED_LIMIT} hashtags")
    return await repo.add_featured(session, account_id, tag.id), tag


async def create_featured(uow: UnitOfWork, account_id: int, raw_name: Any) -> FeaturedView:
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise Unprocessable("Validation failed: Tag can't be blank")
    featured, tag = await _feature(uow, account_id, raw_name)
    return (await _featured_views(uow.session, account_id, [(featured, tag)]))[0]


async def delete_featured(uow: UnitOfWork, account_id: int, featured_id: int) -> None:
    featured = await repo.get_featured(uow.session, account_id, featured_id)
    if featured is None:
        raise NotFound()
    await repo.remove_featured(uow.session, account_id, featured.tag_id)


async def feature(uow: UnitOfWork, account_id: int, raw_name: str) -> TagView:
    _, tag = await _feature(uow, account_id, raw_name)
    return (await views(uow.session, [tag], account_id))[0]


async def unfeature(uow: UnitOfWork, account_id: int, raw_name: str) -> TagView:
    name = check_name(raw_name)
    tag = await repo.find_tag(uow.session, name)
    if tag is not None:
        await repo.remove_featured(uow.session, account_id, tag.id)
    return await show(uow.session, name, account_id)


async def featured_suggestions(session: AsyncSession, account_id: int) -> list[TagView]:
    """The account's most used recent tags that it does not feature yet."""
    since = utcnow() - SUGGESTIONS_WINDOW
    tags = await repo.most_used_by(session, account_id, since, exclude_featured=True, limit=SUGGESTIONS_LIMIT)
    return await views(session, tags, account_id)


async def featured_of_account(session: AsyncSession, account_id: int) -> tuple[Account, list[FeaturedView]]:
    """Another account's featured tags (none while it is suspended)."""
    account = await repo.get_account(session, account_id)
    if account is None:
        raise NotFound()
    if account.suspended_at is not None:
        return account, []
    return account, await list_featured(session, account_id)


async def set_remote_featured(uow: UnitOfWork, account: Account, raw_names: list[str]) -> None:
    """A remote account's featured tags become what its `featuredTags` collection lists now
    (names with or without their `#`; those that are no valid hashtag are skipped), at most
    `FEATURED_LIMIT`; the others go."""
    if account.domain is None:
        return
    names: list[str] = []
    for raw in raw_names:
        try:
            names.append(check_name(raw.lstrip("#")))
        except (NotFound, Unprocessable):
            continue
    session = uow.session
    tags = await repo.get_or_create_tags(session, list(dict.fromkeys(names))[:FEATURED_LIMIT])
    keep = {tag.id for tag in tags}
    for featured, tag in await repo.featured_tags(session, account.id):
        if tag.id not in keep:
            await repo.remove_featured(session, account.id, featured.tag_id)
    for tag_id in keep:
        await repo.add_featured(session, account.id, tag_id)


async def remote_feature(uow: UnitOfWork, account: Account, raw_name: str, *, featured: bool) -> bool:
    """A remote account's `Add` or `Remove` of a `Hashtag` in its featured collection; False
    when the name is no hashtag."""
    if account.domain is None:
        return False
    try:
        name = check_name(raw_name.lstrip("#"))
    except (NotFound, Unprocessable):
        return False
    session = uow.session
    if featured:
        if await repo.count_featured(session, account.id) < FEATURED_LIMIT:
            (tag,) = await repo.get_or_create_tags(session, [name])
            await repo.add_featured(session, account.id, tag.id)
    else:
        found = await repo.find_tag(session, name)
        if found is not None:
            await repo.remove_featured(session, account.id, found.id)
    return True
