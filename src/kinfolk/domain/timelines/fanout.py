"""Fan-out on write: a new status goes into the home feeds (and lists) of the local accounts that
should see it, as set-based INSERT ... SELECT statements rather than a row per follower in Python.

Who gets it (as Mastodon decides): the author; local followers for public, unlisted and private
posts; only mentioned followers for direct posts; local followers of its hashtags for public
posts. Never someone who blocks or mutes the author (or, for a boost, the boosted author), or
who blocks or mutes an account the status mentions; never a follower who keeps the author in an
exclusive list (the list shows it instead); never a boost from a follow with boosts hidden, never
a boost of something already in the feed, and a reply only for those who follow the replied-to
account too.

An author's local followers are taken in slices of `FOLLOWER_SLICE` follows, in follow id
order: the `statuses.created` job inserts the first slice with everything else, and each further
slice is a job of its own (`statuses.fan_out_slice`), its own transaction. On SQLite a
transaction holds the database's one write lock, and a single INSERT for 100,000 followers held
every other writer (posts, favourites, follows) for seconds.

Each INSERT returns the rows it added, so the caller knows exactly whose streams to tell. The
statements are built and compiled once per shape of status (boost, reply, visibility) with the
status's values as parameters, and run on the job's connection (`db.prepared.run_in`): built
anew per post through the ORM, they cost more than their SQL (bench/RESULTS.md, G2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, delete, exists, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from kinfolk.db.base import UTCDateTime
from kinfolk.db.prepared import Prepared, run_in, run_typed_in
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.relationships.models import Block, Follow, Mute
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.tags.models import StatusTag, TagFollow
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount, ListFeedEntry
from kinfolk.kernel.clock import utcnow

_HOME_COLUMNS = ["account_id", "status_id", "origin_account_id", "reblog_of_id"]


def _param(name: str) -> BindParameter[Any]:
    return bindparam(name, type_=BigInteger())


STATUS_ID = _param("status_id")
AUTHOR_ID = _param("author_id")
# The boosted status's author for a boost, else the author again.
ORIGINAL_AUTHOR_ID = _param("original_author_id")
REBLOG_OF_ID = _param("reblog_of_id")
# Whose mentions count: the boosted status's for a boost, else the status's own.
MENTIONS_OF = _param("mentions_of")
REPLY_TO_ACCOUNT_ID = _param("reply_to_account_id")
NOW = bindparam("now", type_=UTCDateTime())
# The follows a slice covers: after < follows.id <= upto.
AFTER = _param("after")
UPTO = _param("upto")
SLICE = _param("slice")
# Follows per slice: on this project's 2-core benchmark machine, 10,000 followers take SQLite
# about 0.2 s to insert and commit, as long as any other write should wait. Read at each
# fan-out, so tests can make it small.
FOLLOWER_SLICE = 10_000
_LAST_ID = 2**63 - 1
_AUTHORS = [AUTHOR_ID, ORIGINAL_AUTHOR_ID]
_BASE_VALUES = [STATUS_ID, AUTHOR_ID, REBLOG_OF_ID]


@dataclass
class FanOut:
    """Who got the status: home feeds by account id, lists by list id (new rows only); and the
    slices of followers still to do, as (after, upto) follow ids, for jobs of their own."""

    home: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)
    later: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class _Shape:
    """What decides which conditions a status's fan-out statements carry."""

    boost: bool
    direct: bool
    private: bool
    reply_to_other: bool
    has_language: bool


def _silenced_by_recipient(recipient: Any) -> list[Any]:
    """Conditions: the recipient neither blocks nor mutes any of the authors nor anyone the
    status mentions, and is not blocked by an author."""
    live_mute = or_(Mute.expires_at.is_(None), Mute.expires_at > NOW)
    return [
        ~exists().where(Block.account_id == recipient, Block.target_account_id.in_(_AUTHORS)),
        ~exists().where(Block.target_account_id == recipient, Block.account_id.in_(_AUTHORS)),
        ~exists().where(Mute.account_id == recipient, Mute.target_account_id.in_(_AUTHORS), live_mute),
        ~exists().where(
            Mention.status_id == MENTIONS_OF,
            Block.account_id == recipient,
            Block.target_account_id == Mention.account_id,
        ),
        ~exists().where(
            Mention.status_id == MENTIONS_OF,
            Mute.account_id == recipient,
            Mute.target_account_id == Mention.account_id,
            live_mute,
        ),
    ]


def _follower_conditions(shape: _Shape) -> list[Any]:
    recipient = Follow.account_id
    conditions = [
        Follow.target_account_id == AUTHOR_ID,
        Follow.id > AFTER,
        Follow.id <= UPTO,
        exists().where(User.account_id == Follow.account_id),
        *_silenced_by_recipient(recipient),
        ~exists().where(
            List.account_id == recipient,
            List.exclusive.is_(True),
            ListAccount.list_id == List.id,
            ListAccount.account_id == AUTHOR_ID,
        ),
    ]
    if shape.direct:
        conditions.append(exists().where(Mention.status_id == STATUS_ID, Mention.account_id == recipient))
    if shape.boost:
        conditions.append(Follow.show_reblogs.is_(True))
        conditions.append(
            ~exists().where(
                HomeFeedEntry.account_id == recipient,
                or_(HomeFeedEntry.status_id == REBLOG_OF_ID, HomeFeedEntry.reblog_of_id == REBLOG_OF_ID),
            )
        )
    if shape.reply_to_other:
        other = Follow.__table__.alias("f2")
        conditions.append(
            or_(
                recipient == REPLY_TO_ACCOUNT_ID,
                exists().where(
                    and_(other.c.account_id == recipient, other.c.target_account_id == REPLY_TO_ACCOUNT_ID)
                ),
            )
        )
    return conditions


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _into_home(dialect: str, query: Any) -> Prepared:
    return Prepared(
        _insert(dialect, HomeFeedEntry)
        .from_select(_HOME_COLUMNS, query)
        .on_conflict_do_nothing()
        .returning(HomeFeedEntry.account_id)
    )


@cache
def _to_followers(dialect: str, shape: _Shape) -> Prepared:
    """Followers whose follow has no language list (all followers if the status has no
    language)."""
    query = select(Follow.account_id, *_BASE_VALUES).where(*_follower_conditions(shape))
    if shape.has_language:
        query = query.where(Follow.languages.is_(None))
    return _into_home(dialect, query)


@cache
def _limited_followers(shape: _Shape) -> Prepared:
    """Followers who follow only some languages: few; their JSON lists are checked in Python."""
    return Prepared(
        select(Follow.account_id, Follow.languages).where(
            *_follower_conditions(shape), Follow.languages.is_not(None)
        )
    )


@cache
def _to_author(dialect: str) -> Prepared:
    """The author's own feed, if the author is local."""
    query = select(Account.id, *_BASE_VALUES).where(Account.id == AUTHOR_ID, Account.domain.is_(None))
    return _into_home(dialect, query)


@cache
def _to_tag_followers(dialect: str) -> Prepared:
    recipient = TagFollow.account_id
    query = (
        select(recipient, STATUS_ID, AUTHOR_ID, literal(None, BigInteger()))
        .distinct()
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .where(
            StatusTag.status_id == STATUS_ID,
            exists().where(User.account_id == TagFollow.account_id),
            *_silenced_by_recipient(recipient),
        )
    )
    return _into_home(dialect, query)


@cache
def _to_lists(dialect: str, shape: _Shape) -> Prepared:
    owner = List.account_id
    conditions = [ListAccount.account_id == AUTHOR_ID, *_silenced_by_recipient(owner)]
    if shape.private:
        conditions.append(
            or_(
                owner == AUTHOR_ID,
                exists().where(Follow.account_id == owner, Follow.target_account_id == AUTHOR_ID),
            )
        )
    if shape.boost:
        conditions.append(
            ~exists().where(ListFeedEntry.list_id == List.id, ListFeedEntry.status_id == REBLOG_OF_ID)
        )
    if shape.reply_to_other:
        # Replies to the owner always show; otherwise the home rule (the owner follows the
        # replied-to account) holds, and replies_policy narrows it: "followed" keeps those,
        # "list" only replies to list members, "none" nothing else.
        members = ListAccount.__table__.alias("la2")
        in_list = exists().where(members.c.list_id == List.id, members.c.account_id == REPLY_TO_ACCOUNT_ID)
        followed = exists().where(Follow.account_id == owner, Follow.target_account_id == REPLY_TO_ACCOUNT_ID)
        conditions.append(
            or_(
                owner == REPLY_TO_ACCOUNT_ID,
                and_(
                    followed,
                    or_(List.replies_policy == "followed", and_(List.replies_policy == "list", in_list)),
                ),
            )
        )
    query = (
        select(List.id, STATUS_ID, AUTHOR_ID)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(*conditions)
    )
    return Prepared(
        _insert(dialect, ListFeedEntry)
        .from_select(["list_id", "status_id", "origin_account_id"], query)
        .on_conflict_do_nothing()
        .returning(ListFeedEntry.list_id)
    )


# The follow that ends a slice starting after `after`, and whether another follows it.
_SLICE_END = Prepared(
    select(Follow.id)
    .where(Follow.target_account_id == AUTHOR_ID, Follow.id > AFTER)
    .order_by(Follow.id)
    .limit(2)
    .offset(SLICE - 1)
)


async def _slice_ends(session: AsyncSession, values: dict[str, Any]) -> list[int]:
    """The last follow id of each slice but the last: one index step per slice, and for most
    authors a single look that finds fewer follows than a slice."""
    ends: list[int] = []
    after = 0
    while True:
        found = await run_in(session, _SLICE_END, {**values, "after": after, "slice": FOLLOWER_SLICE})
        if len(found) < 2:
            return ends
        after = found[0][0]
        ends.append(after)


def _ranges(ends: list[int]) -> list[tuple[int, int]]:
    bounds = [0, *ends, _LAST_ID]
    return list(pairwise(bounds))


@dataclass(frozen=True)
class _Context:
    shape: _Shape
    values: dict[str, Any]
    dialect: str


async def _context(session: AsyncSession, status: Status) -> _Context | None:
    """What every statement of a status's fan-out needs; None if it goes to nobody (deleted,
    or a boost whose original is gone)."""
    if status.deleted_at is not None:
        return None
    original: Status | None = None
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is None or original.deleted_at is not None:
            return None
    shape = _Shape(
        boost=original is not None,
        direct=status.visibility == "direct",
        private=status.visibility == "private",
        reply_to_other=status.in_reply_to_account_id is not None
        and status.in_reply_to_account_id != status.account_id,
        has_language=status.language is not None,
    )
    values = {
        "status_id": status.id,
        "author_id": status.account_id,
        "original_author_id": original.account_id if original is not None else status.account_id,
        "reblog_of_id": status.reblog_of_id,
        "mentions_of": original.id if original is not None else status.id,
        "reply_to_account_id": status.in_reply_to_account_id,
        "now": utcnow(),
    }
    return _Context(shape, values, (await session.connection()).dialect.name)


async def _ids(session: AsyncSession, prepared: Prepared, values: dict[str, Any]) -> list[int]:
    return [row[0] for row in await run_in(session, prepared, values)]


async def _followers(
    session: AsyncSession, status: Status, context: _Context, span: tuple[int, int]
) -> list[int]:
    """Followers among the follows in `span` (after, upto]."""
    shape = context.shape
    values = {**context.values, "after": span[0], "upto": span[1]}
    home = await _ids(session, _to_followers(context.dialect, shape), values)
    if shape.has_language:
        limited = await run_typed_in(session, _limited_followers(shape), values)
        wanted = [account_id for account_id, languages in limited if status.language in (languages or [])]
        if wanted:
            # Rare (a follow limited to this status's language): built for these accounts.
            conditions = [*_follower_conditions(shape), Follow.account_id.in_(wanted)]
            chosen = select(Follow.account_id, *_BASE_VALUES).where(*conditions)
            # On the connection: the session would take a dict of values for a bulk insert.
            added = await (await session.connection()).execute(
                _insert(context.dialect, HomeFeedEntry.__table__)
                .from_select(_HOME_COLUMNS, chosen)
                .on_conflict_do_nothing()
                .returning(HomeFeedEntry.account_id),
                values,
            )
            home += list(added.scalars())
    return home


async def fan_out(session: AsyncSession, status: Status) -> FanOut:
    """Insert feed rows for `status`, its followers' first slice only; running it twice inserts
    (and reports) nothing new."""
    result = FanOut()
    context = await _context(session, status)
    if context is None:
        return result
    first, *result.later = _ranges(await _slice_ends(session, context.values))
    result.home += await _followers(session, status, context, first)
    result.home += await _ids(session, _to_author(context.dialect), context.values)
    if status.visibility == "public" and status.reblog_of_id is None:
        result.home += await _ids(session, _to_tag_followers(context.dialect), context.values)
    if status.visibility in ("public", "unlisted", "private"):
        lists = await _ids(session, _to_lists(context.dialect, context.shape), context.values)
        result.lists = list(dict.fromkeys(lists))
    result.home = list(dict.fromkeys(result.home))
    return result


async def fan_out_slice(session: AsyncSession, status: Status, span: tuple[int, int]) -> list[int]:
    """Insert feed rows for the followers among the follows in `span`; whose feeds got it."""
    context = await _context(session, status)
    if context is None:
        return []
    return list(dict.fromkeys(await _followers(session, status, context, span)))


@dataclass
class Removed:
    """Whose feeds lost a status: account ids and list ids."""

    home: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)


async def remove_from_feeds(session: AsyncSession, status_id: int) -> Removed:
    home = await session.execute(
        delete(HomeFeedEntry).where(HomeFeedEntry.status_id == status_id).returning(HomeFeedEntry.account_id)
    )
    lists = await session.execute(
        delete(ListFeedEntry).where(ListFeedEntry.status_id == status_id).returning(ListFeedEntry.list_id)
    )
    return Removed(home=list(dict.fromkeys(home.scalars())), lists=list(dict.fromkeys(lists.scalars())))
