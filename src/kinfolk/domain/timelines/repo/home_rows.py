"""The home page in as few statements as it needs: the feed rows with everything a cached
rendering needs to be checked and completed for its viewer; then, only for a page that has
them, the boosted originals and the polls, by id.

A row (a "part") carries the values whose change makes a cached rendering stale (the status's
edit time and counters, its author's update time and counters) and the viewer's flags
(favourited, reblogged, bookmarked, pinned, muted). The visibility policy is the one the ORM
page applies (`personal`, which also checks a boost's original), so both paths show the same
statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, false, func, select
from sqlalchemy.orm import aliased

from kinfolk.db.base import UTCDateTime
from kinfolk.db.prepared import Prepared
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.filters.models import Filter
from kinfolk.domain.oauth.models import AccessToken
from kinfolk.domain.oauth.repo import usable_token
from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.domain.relationships.models import AccountDomainBlock, Block, Mute
from kinfolk.domain.statuses.models import (
    Bookmark,
    ConversationMute,
    Favourite,
    Status,
    StatusPin,
    StatusStats,
)
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.domain.timelines.repo.feeds import EVERY, Shuns, personal

VIEWER: BindParameter[Any] = bindparam("viewer")
NOW: BindParameter[Any] = bindparam("now", type_=UTCDateTime())

# Offsets in a part.
ID, ACCOUNT_ID, REBLOG_OF_ID, POLL_ID, QUOTE_OF_ID = 0, 1, 2, 3, 4
STATUS_STAMP = slice(5, 11)  # edited_at, the four counters and its card's update time
# The stamp of a status nobody has edited, answered, boosted, favourited or quoted yet, and
# with no card (a card comes later, from a job).
NEW_STATUS_STAMP = (None, 0, 0, 0, 0, None)
ACCOUNT_STAMP = slice(11, 16)  # the author's updated_at and counters
FAVOURITED, REBLOGGED, BOOKMARKED, PINNED, MUTED = 16, 17, 18, 19, 20
# A poll row: its id, its update time, whether the viewer voted.
POLL_ROW_ID, POLL_STAMP, POLL_VOTED = 0, 1, 2
# The by-id statements take this many ids (a page's limit at most), unused ones null.
BY_ID_SLOTS = 40

_STATS = aliased(StatusStats, name="stats")
_AUTHOR_STATS = aliased(AccountStats, name="author_stats")
_OWN_BOOST = aliased(Status, name="own_boost")


@dataclass(frozen=True)
class Has:
    """What the viewer has at all, read with their token: a page statement leaves out the
    conditions and flags that cannot apply (a viewer with no mutes needs no mute probes)."""

    shuns: Shuns = EVERY
    favourites: bool = True
    bookmarks: bool = True
    pins: bool = True
    conversation_mutes: bool = True


def _flag(present: bool, condition: Any) -> ColumnElement[Any]:
    return exists().where(condition) if present else false()


# The values that make an author's rendering stale, in ACCOUNT_STAMP's order.
_ACCOUNT_STAMP_COLUMNS = [
    Account.updated_at,
    _AUTHOR_STATS.statuses_count,
    _AUTHOR_STATS.followers_count,
    _AUTHOR_STATS.following_count,
    _AUTHOR_STATS.last_status_at,
]


def _part(has: Has) -> list[Any]:
    status, stats = Status, _STATS
    return [
        status.id,
        status.account_id,
        status.reblog_of_id,
        status.poll_id,
        status.quote_of_id,
        status.edited_at,
        # A status has no counters row until its first reply, boost, favourite or quote
        # (`statuses.store`): no row reads as zeros, the stamp of a new status.
        func.coalesce(stats.replies_count, 0),
        func.coalesce(stats.reblogs_count, 0),
        func.coalesce(stats.favourites_count, 0),
        func.coalesce(stats.quotes_count, 0),
        # A card filled (or refreshed) by its fetch after the status was rendered.
        select(PreviewCard.updated_at)
        .join(StatusPreviewCard, StatusPreviewCard.card_id == PreviewCard.id)
        .where(StatusPreviewCard.status_id == status.id)
        .scalar_subquery(),
        *_ACCOUNT_STAMP_COLUMNS,
        _flag(
            has.favourites,
            and_(Favourite.account_id == VIEWER, Favourite.status_id == status.id),
        ),
        _flag(
            True,
            and_(
                _OWN_BOOST.account_id == VIEWER,
                _OWN_BOOST.reblog_of_id == status.id,
                _OWN_BOOST.deleted_at.is_(None),
            ),
        ),
        _flag(has.bookmarks, and_(Bookmark.account_id == VIEWER, Bookmark.status_id == status.id)),
        _flag(has.pins, and_(StatusPin.account_id == VIEWER, StatusPin.status_id == status.id)),
        _flag(
            has.conversation_mutes,
            and_(
                ConversationMute.account_id == VIEWER,
                ConversationMute.conversation_id == status.conversation_id,
            ),
        ),
    ]


def _parts(has: Has) -> Any:
    return (
        select(*_part(has))
        .select_from(Status)
        .join(Account, Account.id == Status.account_id)
        .outerjoin(_STATS, _STATS.status_id == Status.id)
        .outerjoin(_AUTHOR_STATS, _AUTHOR_STATS.account_id == Account.id)
    )


@cache
def home_rows(with_max: bool, with_since: bool, has: Has) -> Prepared:
    """The page statement for one shape of page and one `Has`; built and compiled once."""
    stmt = (
        _parts(has)
        .join(HomeFeedEntry, HomeFeedEntry.status_id == Status.id)
        .where(HomeFeedEntry.account_id == VIEWER, *personal(VIEWER, NOW, has.shuns))
    )
    if with_max:
        stmt = stmt.where(HomeFeedEntry.status_id < bindparam("max_id"))
    if with_since:
        stmt = stmt.where(HomeFeedEntry.status_id > bindparam("since_id"))
    stmt = stmt.order_by(HomeFeedEntry.status_id.desc()).limit(bindparam("limit"))
    return Prepared(stmt)


def by_id_values(ids: list[int]) -> dict[str, int | None]:
    """Values for a by-id statement's slots."""
    values: dict[str, int | None] = {f"id{i}": None for i in range(BY_ID_SLOTS)}
    for i, value in enumerate(ids[:BY_ID_SLOTS]):
        values[f"id{i}"] = value
    return values


_SLOTS: list[BindParameter[Any]] = [bindparam(f"id{i}") for i in range(BY_ID_SLOTS)]


@cache
def parts_by_id(has: Has) -> Prepared:
    """Parts of the statuses a page's boosts show (visibility was checked by the page)."""
    return Prepared(_parts(has).where(Status.id.in_(_SLOTS)))


# One account's stamp, read as the page statement reads it (same columns, same driver values).
ACCOUNT_STAMP_BY_ID = Prepared(
    select(*_ACCOUNT_STAMP_COLUMNS)
    .select_from(Account)
    .outerjoin(_AUTHOR_STATS, _AUTHOR_STATS.account_id == Account.id)
    .where(Account.id == bindparam("account_id"))
)

POLLS_BY_ID = Prepared(
    select(
        Poll.id,
        Poll.updated_at,
        exists().where(PollVote.poll_id == Poll.id, PollVote.account_id == VIEWER),
    ).where(Poll.id.in_(_SLOTS))
)


# The bearer token of a signed-in, usable account (the OAuth service's rules): its scopes, its
# account, whether it has filters (pages with filters take the ORM path, which applies them),
# then what `Has` needs.
TOKEN_VIEWER = Prepared(
    select(
        AccessToken.scopes,
        User.account_id,
        exists().where(Filter.account_id == User.account_id),
        exists().where(Mute.account_id == User.account_id),
        exists().where(Block.account_id == User.account_id),
        exists().where(Block.target_account_id == User.account_id),
        exists().where(AccountDomainBlock.account_id == User.account_id),
        exists().where(Favourite.account_id == User.account_id),
        exists().where(Bookmark.account_id == User.account_id),
        exists().where(StatusPin.account_id == User.account_id),
        exists().where(ConversationMute.account_id == User.account_id),
    )
    .join(User, User.id == AccessToken.user_id)
    .join(Account, Account.id == User.account_id)
    # The OAuth service's own rules (`usable_token`), so that this path never serves a token
    # the service refuses; anything it does not serve, the ORM path answers (with its errors).
    .where(AccessToken.token_digest == bindparam("digest"), *usable_token(NOW))
)


def has_from(token_row: Any) -> Has:
    """`Has` from a TOKEN_VIEWER row."""
    mutes, blocks, blocked, domain_blocks, favourites, bookmarks, pins, conversation_mutes = (
        bool(v) for v in token_row[3:11]
    )
    return Has(
        shuns=Shuns(mutes=mutes, blocks=blocks or blocked, domain_blocks=domain_blocks),
        favourites=favourites,
        bookmarks=bookmarks,
        pins=pins,
        conversation_mutes=conversation_mutes,
    )
