"""Timeline pages: home (feed rows, and read-through below them), public, hashtag and list.

Every page is one SQL statement that applies the visibility policy (`visible_to`) and the
viewer's mutes, blocks and domain blocks, for the status and, for a boost, for the boosted
status too: mutes can change after fan-out, and a page must never show what the policy hides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kinfolk.db.prepared import Prepared, run_in
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.relationships.models import AccountDomainBlock, Block, Follow, Mute
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.tags.models import StatusTag, Tag
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount, ListFeedEntry
from kinfolk.domain.visibility import visible_to
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.paging import Page

Condition = ColumnElement[bool]


def _live_mute(now: datetime) -> Condition:
    return or_(Mute.expires_at.is_(None), Mute.expires_at > now)


@dataclass(frozen=True)
class Shuns:
    """Which kinds of shunning a viewer has at all. A statement for a viewer known to have no
    mutes (say) can leave those conditions out: the same rows, fewer index probes per row."""

    mutes: bool = True
    blocks: bool = True
    domain_blocks: bool = True


EVERY = Shuns()


def _shuns(
    viewer_id: Any,
    author_id: Any,
    author_domain: Any,
    now: Any,
    *,
    blocks: bool,
    has: Shuns = EVERY,
) -> list[Condition]:
    """The viewer does not mute the author nor block their domain (nor, with `blocks`, block
    them either way: `visible_to` already checks blocks where it is used)."""
    conditions: list[Condition] = []
    if has.mutes:
        conditions.append(
            ~exists().where(
                Mute.account_id == viewer_id, Mute.target_account_id == author_id, _live_mute(now)
            )
        )
    if has.domain_blocks:
        conditions.append(
            ~exists().where(
                AccountDomainBlock.account_id == viewer_id, AccountDomainBlock.domain == author_domain
            )
        )
    if blocks and has.blocks:
        conditions.append(
            ~exists().where(
                or_(
                    and_(Block.account_id == viewer_id, Block.target_account_id == author_id),
                    and_(Block.account_id == author_id, Block.target_account_id == viewer_id),
                )
            )
        )
    return conditions


def _mentions_shunned(viewer_id: int, now: datetime) -> list[Condition]:
    """The status mentions nobody the viewer blocks or mutes (public streams, as Mastodon's)."""
    return [
        ~exists().where(
            Mention.status_id == Status.id,
            Block.account_id == viewer_id,
            Block.target_account_id == Mention.account_id,
        ),
        ~exists().where(
            Mention.status_id == Status.id,
            Mute.account_id == viewer_id,
            Mute.target_account_id == Mention.account_id,
            _live_mute(now),
        ),
    ]


# Built once: making an alias costs more than the rest of a page's statement (bench/RESULTS.md).
_ORIGINAL = aliased(Status, name="original")
_ORIGINAL_AUTHOR = aliased(Account, name="original_author")


def _original_ok(viewer_id: Any, now: Any, has: Shuns = EVERY) -> Condition:
    """Not a boost, or a boost of something the viewer may see and has not shunned."""
    original = _ORIGINAL
    original_author = _ORIGINAL_AUTHOR
    conditions: list[Condition] = [
        original.id == Status.reblog_of_id,
        original_author.suspended_at.is_(None),
        visible_to(viewer_id, original, blocks=has.blocks),
    ]
    if viewer_id is not None:
        conditions += _shuns(
            viewer_id, original_author.id, original_author.domain, now, blocks=False, has=has
        )
    boosted = (
        select(literal(1))
        .select_from(original)
        .join(original_author, original_author.id == original.account_id)
        .where(*conditions)
    )
    return or_(Status.reblog_of_id.is_(None), boosted.exists())


def personal(viewer_id: Any, now: Any, has: Shuns = EVERY) -> list[Condition]:
    """What home and list pages (and the streams that mirror them) require of a status.
    `viewer_id` and `now` may be values or bound parameters."""
    return [
        Account.suspended_at.is_(None),
        visible_to(viewer_id, blocks=has.blocks),
        *_shuns(viewer_id, Status.account_id, Account.domain, now, blocks=False, has=has),
        _original_ok(viewer_id, now, has),
    ]


def _public(viewer_id: int | None, now: datetime) -> list[Condition]:
    """Public posts of authors in good standing, minus what the viewer shuns."""
    conditions: list[Condition] = [
        Status.visibility == "public",
        Status.deleted_at.is_(None),
        Account.suspended_at.is_(None),
        Account.silenced_at.is_(None),
    ]
    if viewer_id is not None:
        conditions += _shuns(viewer_id, Status.account_id, Account.domain, now, blocks=True)
    return conditions


def _without_replies() -> Condition:
    """Replies to others leave public timelines; threads an author continues stay."""
    return or_(
        and_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id.is_(None)),
        Status.in_reply_to_account_id == Status.account_id,
    )


def _with_media() -> Condition:
    return exists().where(MediaAttachment.status_id == Status.id)


async def home_page(session: AsyncSession, account_id: int, page: Page) -> list[Status]:
    """The page read from the materialised feed."""
    stmt = (
        select(Status)
        .join(HomeFeedEntry, HomeFeedEntry.status_id == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(HomeFeedEntry.account_id == account_id, *personal(account_id, utcnow()))
    )
    result = await session.execute(page.apply(stmt, HomeFeedEntry.status_id))
    return list(result.scalars())


async def home_read_through(session: AsyncSession, account_id: int, page: Page) -> list[Status]:
    """The home timeline below the feed's oldest row (all of it when the feed is empty), read
    from the followed accounts' statuses with the fan-out rules applied at read time."""
    followed = select(Follow.target_account_id).where(Follow.account_id == account_id)
    oldest = (
        select(func.min(HomeFeedEntry.status_id))
        .where(HomeFeedEntry.account_id == account_id)
        .scalar_subquery()
    )
    in_exclusive_list = exists().where(
        List.account_id == account_id,
        List.exclusive.is_(True),
        ListAccount.list_id == List.id,
        ListAccount.account_id == Status.account_id,
    )
    shows_boosts = exists().where(
        Follow.account_id == account_id,
        Follow.target_account_id == Status.account_id,
        Follow.show_reblogs.is_(True),
    )
    stmt = (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(
            or_(Status.account_id == account_id, Status.account_id.in_(followed)),
            or_(oldest.is_(None), Status.id < oldest),
            or_(
                Status.in_reply_to_account_id.is_(None),
                Status.in_reply_to_account_id == Status.account_id,
                Status.in_reply_to_account_id == account_id,
                Status.in_reply_to_account_id.in_(followed),
            ),
            or_(Status.reblog_of_id.is_(None), Status.account_id == account_id, shows_boosts),
            or_(Status.account_id == account_id, ~in_exclusive_list),
            *personal(account_id, utcnow()),
        )
    )
    result = await session.execute(page.apply(stmt, Status.id))
    return list(result.scalars())


async def public_page(
    session: AsyncSession,
    viewer_id: int | None,
    page: Page,
    *,
    local: bool | None,
    only_media: bool,
) -> list[Status]:
    stmt = (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(*_public(viewer_id, utcnow()), Status.reblog_of_id.is_(None), _without_replies())
    )
    if local is not None:
        stmt = stmt.where(Status.local.is_(local))
    if only_media:
        stmt = stmt.where(_with_media())
    result = await session.execute(page.apply(stmt, Status.id))
    return list(result.scalars())


async def tag_ids(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """Tag ids by normalised name, for the names that exist."""
    if not names:
        return {}
    result = await session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(list(names))))
    return {name: tag_id for name, tag_id in result.all()}


async def tag_page(
    session: AsyncSession,
    viewer_id: int | None,
    page: Page,
    *,
    any_ids: Sequence[int],
    all_ids: Sequence[int],
    none_ids: Sequence[int],
    local: bool | None,
    only_media: bool,
) -> list[Status]:
    stmt = select(Status).join(Account, Account.id == Status.account_id).where(*_public(viewer_id, utcnow()))
    if len(any_ids) == 1:
        # The common case walks the (tag_id, status_id) key of status_tags in order.
        stmt = stmt.join(StatusTag, StatusTag.status_id == Status.id).where(StatusTag.tag_id == any_ids[0])
        column: Any = StatusTag.status_id
    else:
        stmt = stmt.where(
            exists().where(StatusTag.status_id == Status.id, StatusTag.tag_id.in_(list(any_ids)))
        )
        column = Status.id
    tagged = StatusTag.__table__.alias("st_all")
    for tag_id in all_ids:
        stmt = stmt.where(exists().where(tagged.c.status_id == Status.id, tagged.c.tag_id == tag_id))
    if none_ids:
        excluded = StatusTag.__table__.alias("st_none")
        stmt = stmt.where(
            ~exists().where(excluded.c.status_id == Status.id, excluded.c.tag_id.in_(list(none_ids)))
        )
    if local is not None:
        stmt = stmt.where(Status.local.is_(local))
    if only_media:
        stmt = stmt.where(_with_media())
    result = await session.execute(page.apply(stmt, column))
    return list(result.scalars())


async def list_page(session: AsyncSession, account_id: int, list_id: int, page: Page) -> list[Status]:
    """A list's feed, without rows of accounts that have left the list since."""
    member = exists().where(
        ListAccount.list_id == list_id, ListAccount.account_id == ListFeedEntry.origin_account_id
    )
    stmt = (
        select(Status)
        .join(ListFeedEntry, ListFeedEntry.status_id == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(ListFeedEntry.list_id == list_id, member, *personal(account_id, utcnow()))
    )
    result = await session.execute(page.apply(stmt, ListFeedEntry.status_id))
    return list(result.scalars())


async def personal_status(session: AsyncSession, viewer_id: int, status_id: int) -> Status | None:
    """`status_id` if a home or list page of `viewer_id` could show it now."""
    stmt = (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(Status.id == status_id, *personal(viewer_id, utcnow()))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def public_status(session: AsyncSession, viewer_id: int | None, status_id: int) -> Status | None:
    """`status_id` if a public stream may show it to `viewer_id` now (mentions of shunned
    accounts count too, as in Mastodon's streaming server)."""
    now = utcnow()
    stmt = (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(Status.id == status_id, *_public(viewer_id, now))
    )
    if viewer_id is not None:
        stmt = stmt.where(*_mentions_shunned(viewer_id, now))
    return (await session.execute(stmt)).scalar_one_or_none()


async def status_shape(session: AsyncSession, status_id: int) -> tuple[Status, list[str], bool] | None:
    """A status with its tag names and whether it has media: what deciding streams needs."""
    status = await session.get(Status, status_id)
    if status is None:
        return None
    rows = await run_in(session, _SHAPE, {"status_id": status_id})
    names = [name for kind, name in rows if kind == "t"]
    return status, names, any(kind == "m" for kind, _ in rows)


_SHAPE_STATUS = bindparam("status_id", type_=BigInteger())
# Tag names ("t") and one "m" row if the status has media; built once (every post asks).
_SHAPE = Prepared(
    union_all(
        select(literal("t"), Tag.name)
        .join(StatusTag, StatusTag.tag_id == Tag.id)
        .where(StatusTag.status_id == _SHAPE_STATUS),
        select(literal("m"), literal(None, Tag.name.type)).where(
            exists().where(MediaAttachment.status_id == _SHAPE_STATUS)
        ),
    )
)


async def feed_holders(session: AsyncSession, status_id: int) -> tuple[list[int], list[int]]:
    """Accounts whose home feed and lists whose feed hold `status_id`."""
    home = await session.execute(select(HomeFeedEntry.account_id).where(HomeFeedEntry.status_id == status_id))
    lists = await session.execute(select(ListFeedEntry.list_id).where(ListFeedEntry.status_id == status_id))
    return list(home.scalars()), list(lists.scalars())


async def accounts_over(session: AsyncSession, table: Any, key: Any, keep: int, limit: int) -> list[int]:
    """Owners (account or list ids) with more than `keep` rows in a feed table."""
    result = await session.execute(
        select(key).select_from(table).group_by(key).having(func.count() > keep).limit(limit)
    )
    return list(result.scalars())


async def trim_home(session: AsyncSession, account_id: int, keep: int) -> int:
    cutoff = (
        select(HomeFeedEntry.status_id)
        .where(HomeFeedEntry.account_id == account_id)
        .order_by(HomeFeedEntry.status_id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(HomeFeedEntry).where(HomeFeedEntry.account_id == account_id, HomeFeedEntry.status_id < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def trim_list(session: AsyncSession, list_id: int, keep: int) -> int:
    cutoff = (
        select(ListFeedEntry.status_id)
        .where(ListFeedEntry.list_id == list_id)
        .order_by(ListFeedEntry.status_id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(ListFeedEntry).where(ListFeedEntry.list_id == list_id, ListFeedEntry.status_id < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
