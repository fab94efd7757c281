"""All SQL for follows, follow requests, blocks, mutes, notes, endorsements and domain blocks.

Writes are Core statements with `ON CONFLICT DO NOTHING` and `DELETE ... RETURNING`, so that two
concurrent requests cannot both create (or both remove) a follow and count it twice, and so that
no ORM object is left stale in the session after a bulk change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.relationships.models import (
    AccountDomainBlock,
    AccountNote,
    AccountPin,
    Block,
    Follow,
    FollowRequest,
    Mute,
)
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.domain.visibility import account_exists, visible_to
from kinfolk.kernel.ids import new_id
from kinfolk.kernel.paging import Page

FollowTable = type[Follow] | type[FollowRequest]


@dataclass(frozen=True)
class LinkOptions:
    """How a follow (or a request for one) treats the followed account's posts."""

    show_reblogs: bool = True
    notify: bool = False
    languages: list[str] | None = None


@dataclass(frozen=True)
class FollowLink:
    """A follow or a follow request, as the rules need it."""

    id: int
    account_id: int
    target_account_id: int
    show_reblogs: bool
    notify: bool
    languages: list[str] | None
    # The ActivityPub id of the `Follow` (ours for a local follower, theirs for a remote one).
    uri: str | None = None

    @property
    def options(self) -> LinkOptions:
        return LinkOptions(self.show_reblogs, self.notify, self.languages)


def _link(row: Row[Any]) -> FollowLink:
    return FollowLink(
        id=row.id,
        account_id=row.account_id,
        target_account_id=row.target_account_id,
        show_reblogs=bool(row.show_reblogs),
        notify=bool(row.notify),
        languages=list(row.languages) if row.languages else None,
        uri=row.uri,
    )


def _link_columns(table: FollowTable) -> tuple[Any, ...]:
    return (
        table.id,
        table.account_id,
        table.target_account_id,
        table.show_reblogs,
        table.notify,
        table.languages,
        table.uri,
    )


def _is_sqlite(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "sqlite"


# -- accounts -------------------------------------------------------------------------------


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    """An account that exists for the outside (not one awaiting approval)."""
    result = await session.execute(select(Account).where(Account.id == account_id, account_exists()))
    return result.scalar_one_or_none()


async def get_accounts(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, Account]:
    if not account_ids:
        return {}
    result = await session.execute(select(Account).where(Account.id.in_(list(account_ids)), account_exists()))
    return {row.id: row for row in result.scalars()}


# -- follows and follow requests ------------------------------------------------------------


async def get_link(
    session: AsyncSession, table: FollowTable, account_id: int, target_id: int
) -> FollowLink | None:
    result = await session.execute(
        select(*_link_columns(table)).where(
            table.account_id == account_id, table.target_account_id == target_id
        )
    )
    row = result.first()
    return None if row is None else _link(row)


async def insert_link(
    session: AsyncSession,
    table: FollowTable,
    account_id: int,
    target_id: int,
    options: LinkOptions,
    *,
    uri: str | None = None,
) -> int | None:
    """The new row's id, or None when the pair already exists. `uri` is the `Follow`'s
    ActivityPub id when one is known (a remote follower's, kept when its request is accepted)."""
    stmt = (
        insert_for(session, table)
        .values(
            id=new_id(),
            account_id=account_id,
            target_account_id=target_id,
            show_reblogs=options.show_reblogs,
            notify=options.notify,
            languages=options.languages,
            uri=uri,
        )
        .on_conflict_do_nothing(index_elements=["account_id", "target_account_id"])
        .returning(table.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_link(
    session: AsyncSession, table: FollowTable, link_id: int, values: dict[str, Any]
) -> None:
    if values:
        await session.execute(update(table).where(table.id == link_id).values(**values))


async def delete_link(
    session: AsyncSession, table: FollowTable, account_id: int, target_id: int
) -> FollowLink | None:
    """Remove the pair's row; returns it if there was one (only one caller ever gets it)."""
    stmt = (
        delete(table)
        .where(table.account_id == account_id, table.target_account_id == target_id)
        .returning(*_link_columns(table))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else _link(row)


async def links_with_domain(
    session: AsyncSession, table: FollowTable, account_id: int, domain: str
) -> list[FollowLink]:
    """`account_id`'s rows with accounts on `domain`, in either direction."""
    on_domain = select(Account.id).where(Account.domain == domain)
    result = await session.execute(
        select(*_link_columns(table)).where(
            or_(
                and_(table.account_id == account_id, table.target_account_id.in_(on_domain)),
                and_(table.target_account_id == account_id, table.account_id.in_(on_domain)),
            )
        )
    )
    return [_link(row) for row in result.all()]


async def bump_follow_counts(session: AsyncSession, follower_id: int, followee_id: int, delta: int) -> None:
    """Add `delta` to the follower's following and the followee's followers, never below zero."""
    await session.execute(
        insert_for(session, AccountStats)
        .values([{"account_id": follower_id}, {"account_id": followee_id}])
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    clamp = func.max if _is_sqlite(session) else func.greatest
    await session.execute(
        update(AccountStats)
        .where(AccountStats.account_id == follower_id)
        .values(following_count=clamp(AccountStats.following_count + delta, 0))
    )
    await session.execute(
        update(AccountStats)
        .where(AccountStats.account_id == followee_id)
        .values(followers_count=clamp(AccountStats.followers_count + delta, 0))
    )


async def get_stats(session: AsyncSession, account_id: int) -> tuple[int, int]:
    """(followers_count, following_count)."""
    result = await session.execute(
        select(AccountStats.followers_count, AccountStats.following_count).where(
            AccountStats.account_id == account_id
        )
    )
    row = result.first()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


# -- blocks, mutes, notes, pins, domain blocks ----------------------------------------------


async def insert_block(session: AsyncSession, account_id: int, target_id: int) -> int | None:
    stmt = (
        insert_for(session, Block)
        .values(id=new_id(), account_id=account_id, target_account_id=target_id)
        .on_conflict_do_nothing(index_elements=["account_id", "target_account_id"])
        .returning(Block.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_block(session: AsyncSession, account_id: int, target_id: int) -> int | None:
    """The removed block's id, or None when there was none."""
    stmt = (
        delete(Block)
        .where(Block.account_id == account_id, Block.target_account_id == target_id)
        .returning(Block.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def blocks(session: AsyncSession, account_id: int, target_id: int) -> bool:
    stmt = select(exists().where(Block.account_id == account_id, Block.target_account_id == target_id))
    return bool((await session.execute(stmt)).scalar())


async def blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    stmt = select(
        exists().where(
            or_(
                and_(Block.account_id == a, Block.target_account_id == b),
                and_(Block.account_id == b, Block.target_account_id == a),
            )
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def upsert_mute(
    session: AsyncSession,
    account_id: int,
    target_id: int,
    *,
    hide_notifications: bool,
    expires_at: datetime | None,
) -> None:
    stmt = (
        insert_for(session, Mute)
        .values(
            id=new_id(),
            account_id=account_id,
            target_account_id=target_id,
            hide_notifications=hide_notifications,
            expires_at=expires_at,
        )
        .on_conflict_do_update(
            index_elements=["account_id", "target_account_id"],
            set_={"hide_notifications": hide_notifications, "expires_at": expires_at},
        )
    )
    await session.execute(stmt)


async def delete_mute(session: AsyncSession, account_id: int, target_id: int, now: datetime) -> bool:
    """Remove the mute; True if it was in force (an expired one is removed but does not count)."""
    stmt = (
        delete(Mute)
        .where(Mute.account_id == account_id, Mute.target_account_id == target_id)
        .returning(Mute.expires_at)
    )
    row = (await session.execute(stmt)).first()
    return row is not None and (row[0] is None or row[0] > now)


def mute_in_force(now: datetime) -> ColumnElement[bool]:
    return or_(Mute.expires_at.is_(None), Mute.expires_at > now)


async def muting(session: AsyncSession, account_id: int, target_id: int, now: datetime) -> bool:
    stmt = select(
        exists().where(Mute.account_id == account_id, Mute.target_account_id == target_id, mute_in_force(now))
    )
    return bool((await session.execute(stmt)).scalar())


async def delete_expired_mutes(session: AsyncSession, now: datetime, limit: int) -> list[tuple[int, int]]:
    """Remove up to `limit` expired mutes; returns their (account_id, target_account_id)."""
    ids = select(Mute.id).where(Mute.expires_at.is_not(None), Mute.expires_at <= now).limit(limit)
    stmt = (
        delete(Mute)
        .where(Mute.id.in_(ids.scalar_subquery()))
        .returning(Mute.account_id, Mute.target_account_id)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def set_note(session: AsyncSession, account_id: int, target_id: int, comment: str) -> None:
    stmt = (
        insert_for(session, AccountNote)
        .values(id=new_id(), account_id=account_id, target_account_id=target_id, comment=comment)
        .on_conflict_do_update(index_elements=["account_id", "target_account_id"], set_={"comment": comment})
    )
    await session.execute(stmt)


async def delete_note(session: AsyncSession, account_id: int, target_id: int) -> None:
    await session.execute(
        delete(AccountNote).where(
            AccountNote.account_id == account_id, AccountNote.target_account_id == target_id
        )
    )


async def insert_pin(session: AsyncSession, account_id: int, target_id: int) -> None:
    await session.execute(
        insert_for(session, AccountPin)
        .values(id=new_id(), account_id=account_id, target_account_id=target_id)
        .on_conflict_do_nothing(index_elements=["account_id", "target_account_id"])
    )


async def delete_pin(session: AsyncSession, account_id: int, target_id: int) -> None:
    await session.execute(
        delete(AccountPin).where(
            AccountPin.account_id == account_id, AccountPin.target_account_id == target_id
        )
    )


async def insert_domain_block(session: AsyncSession, account_id: int, domain: str) -> bool:
    stmt = (
        insert_for(session, AccountDomainBlock)
        .values(id=new_id(), account_id=account_id, domain=domain)
        .on_conflict_do_nothing(index_elements=["account_id", "domain"])
        .returning(AccountDomainBlock.id)
    )
    return (await session.execute(stmt)).first() is not None


async def delete_domain_block(session: AsyncSession, account_id: int, domain: str) -> None:
    await session.execute(
        delete(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain
        )
    )


async def domain_blocked(session: AsyncSession, account_id: int, domain: str | None) -> bool:
    if domain is None:
        return False
    stmt = select(
        exists().where(AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain)
    )
    return bool((await session.execute(stmt)).scalar())


# -- relationship facts, batched ------------------------------------------------------------


@dataclass
class Facts:
    """Every row that bears on `viewer`'s relationships with a set of accounts (a fixed 7 queries)."""

    follows: list[FollowLink]
    requests: list[FollowLink]
    blocks: list[tuple[int, int]]
    mutes: dict[int, tuple[bool, datetime | None]]
    notes: dict[int, str]
    pins: set[int]
    blocked_domains: set[str]


async def relationship_facts(
    session: AsyncSession, viewer_id: int, ids: Sequence[int], domains: Sequence[str], now: datetime
) -> Facts:
    id_list = list(ids)

    def both_ways(table: Any) -> ColumnElement[bool]:
        return or_(
            and_(table.account_id == viewer_id, table.target_account_id.in_(id_list)),
            and_(table.target_account_id == viewer_id, table.account_id.in_(id_list)),
        )

    follows = await session.execute(select(*_link_columns(Follow)).where(both_ways(Follow)))
    requests = await session.execute(select(*_link_columns(FollowRequest)).where(both_ways(FollowRequest)))
    blocks = await session.execute(select(Block.account_id, Block.target_account_id).where(both_ways(Block)))
    mutes = await session.execute(
        select(Mute.target_account_id, Mute.hide_notifications, Mute.expires_at).where(
            Mute.account_id == viewer_id, Mute.target_account_id.in_(id_list), mute_in_force(now)
        )
    )
    notes = await session.execute(
        select(AccountNote.target_account_id, AccountNote.comment).where(
            AccountNote.account_id == viewer_id, AccountNote.target_account_id.in_(id_list)
        )
    )
    pins = await session.execute(
        select(AccountPin.target_account_id).where(
            AccountPin.account_id == viewer_id, AccountPin.target_account_id.in_(id_list)
        )
    )
    blocked_domains = await session.execute(
        select(AccountDomainBlock.domain).where(
            AccountDomainBlock.account_id == viewer_id, AccountDomainBlock.domain.in_(list(domains))
        )
    )
    return Facts(
        follows=[_link(r) for r in follows.all()],
        requests=[_link(r) for r in requests.all()],
        blocks=[(r[0], r[1]) for r in blocks.all()],
        mutes={r[0]: (bool(r[1]), r[2]) for r in mutes.all()},
        notes={r[0]: r[1] for r in notes.all()},
        pins={r[0] for r in pins.all()},
        blocked_domains={r[0] for r in blocked_domains.all()},
    )


# -- listings -------------------------------------------------------------------------------


def visible_account() -> ColumnElement[bool]:
    """Accounts that may appear in listings: not suspended."""
    return Account.suspended_at.is_(None)


def not_excluded_by(viewer_id: int, now: datetime) -> ColumnElement[bool]:
    """Accounts `viewer_id` neither blocks, is blocked by, mutes nor domain-blocks."""
    return and_(
        ~exists().where(Block.account_id == viewer_id, Block.target_account_id == Account.id),
        ~exists().where(Block.account_id == Account.id, Block.target_account_id == viewer_id),
        ~exists().where(
            Mute.account_id == viewer_id, Mute.target_account_id == Account.id, mute_in_force(now)
        ),
        or_(
            Account.domain.is_(None),
            ~exists().where(
                AccountDomainBlock.account_id == viewer_id, AccountDomainBlock.domain == Account.domain
            ),
        ),
    )


async def _paged_accounts(
    session: AsyncSession, page: Page, id_column: Any, stmt: Any
) -> list[tuple[int, Account]]:
    result = await session.execute(page.apply(stmt, id_column))
    return page.arrange([(row[0], row[1]) for row in result.all()])


async def list_followers(
    session: AsyncSession, account_id: int, page: Page, *, exclude_for: int | None, now: datetime
) -> list[tuple[int, Account]]:
    stmt = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id == account_id, visible_account())
    )
    if exclude_for is not None:
        stmt = stmt.where(not_excluded_by(exclude_for, now))
    return await _paged_accounts(session, page, Follow.id, stmt)


async def list_following(
    session: AsyncSession, account_id: int, page: Page, *, exclude_for: int | None, now: datetime
) -> list[tuple[int, Account]]:
    stmt = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.target_account_id)
        .where(Follow.account_id == account_id, visible_account())
    )
    if exclude_for is not None:
        stmt = stmt.where(not_excluded_by(exclude_for, now))
    return await _paged_accounts(session, page, Follow.id, stmt)


async def list_follow_requests(
    session: AsyncSession, target_id: int, page: Page
) -> list[tuple[int, Account]]:
    stmt = (
        select(FollowRequest.id, Account)
        .join(Account, Account.id == FollowRequest.account_id)
        .where(FollowRequest.target_account_id == target_id, visible_account())
    )
    return await _paged_accounts(session, page, FollowRequest.id, stmt)


async def list_blocks(session: AsyncSession, account_id: int, page: Page) -> list[tuple[int, Account]]:
    stmt = (
        select(Block.id, Account)
        .join(Account, Account.id == Block.target_account_id)
        .where(Block.account_id == account_id)
    )
    return await _paged_accounts(session, page, Block.id, stmt)


async def list_mutes(
    session: AsyncSession, account_id: int, page: Page, now: datetime
) -> list[tuple[int, Account, datetime | None]]:
    stmt = (
        select(Mute.id, Account, Mute.expires_at)
        .join(Account, Account.id == Mute.target_account_id)
        .where(Mute.account_id == account_id, mute_in_force(now))
    )
    result = await session.execute(page.apply(stmt, Mute.id))
    return page.arrange([(row[0], row[1], row[2]) for row in result.all()])


async def list_pins(
    session: AsyncSession, account_id: int, page: Page, *, exclude_for: int | None, now: datetime
) -> list[tuple[int, Account]]:
    stmt = (
        select(AccountPin.id, Account)
        .join(Account, Account.id == AccountPin.target_account_id)
        .where(AccountPin.account_id == account_id, visible_account())
    )
    if exclude_for is not None:
        stmt = stmt.where(not_excluded_by(exclude_for, now))
    return await _paged_accounts(session, page, AccountPin.id, stmt)


async def list_domain_blocks(session: AsyncSession, account_id: int, page: Page) -> list[tuple[int, str]]:
    stmt = select(AccountDomainBlock.id, AccountDomainBlock.domain).where(
        AccountDomainBlock.account_id == account_id
    )
    result = await session.execute(page.apply(stmt, AccountDomainBlock.id))
    return page.arrange([(row[0], row[1]) for row in result.all()])


async def familiar_followers(
    session: AsyncSession, viewer_id: int, target_ids: Sequence[int], now: datetime
) -> list[tuple[int, Account]]:
    """(target id, account) for every account the viewer follows that follows a target."""
    mine = aliased(Follow)
    theirs = aliased(Follow)
    stmt = (
        select(theirs.target_account_id, Account)
        .join(mine, and_(mine.target_account_id == theirs.account_id, mine.account_id == viewer_id))
        .join(Account, Account.id == theirs.account_id)
        .where(
            theirs.target_account_id.in_(list(target_ids)),
            theirs.account_id != viewer_id,
            visible_account(),
            Account.hide_collections.is_(False),
            not_excluded_by(viewer_id, now),
        )
        .order_by(theirs.id.desc())
    )
    result = await session.execute(stmt)
    return [(row[0], row[1]) for row in result.all()]


async def search_accounts(
    session: AsyncSession,
    *,
    username_prefix: str,
    domain: str | None,
    domain_given: bool,
    display_contains: str | None,
    exact_key: str | None,
    viewer_id: int,
    following_only: bool,
    limit: int,
    offset: int,
) -> list[Account]:
    """Accounts by username prefix (and domain prefix when given) or display name substring.

    Ranked: the exact handle first, then accounts the viewer follows, then by username.
    """
    username = func.lower(Account.username)
    by_name = username.startswith(username_prefix, autoescape=True)
    if domain_given:
        if domain is None:
            by_name = and_(by_name, Account.domain.is_(None))
        else:
            by_name = and_(by_name, func.lower(Account.domain).startswith(domain, autoescape=True))
    matches: ColumnElement[bool] = by_name
    if display_contains:
        matches = or_(matches, func.lower(Account.display_name).contains(display_contains, autoescape=True))
    followed = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id)
    approved = or_(
        Account.domain.is_not(None),
        exists().where(User.account_id == Account.id, User.approved.is_(True), User.disabled.is_(False)),
    )
    blocked = exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == Account.id),
            and_(Block.account_id == Account.id, Block.target_account_id == viewer_id),
        )
    )
    exact = Account.acct_key == exact_key if exact_key else literal(False)
    stmt = select(Account).where(matches, visible_account(), approved, ~blocked)
    if following_only:
        stmt = stmt.where(followed)
    stmt = (
        stmt.order_by(exact.desc(), followed.desc(), username.asc(), Account.id.asc())
        .limit(limit)
        .offset(offset)
    )
    result = await session.execute(stmt)
    return list(result.scalars())


# -- home feed merging ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedCandidate:
    status_id: int
    reblog_of_id: int | None
    language: str | None
    in_reply_to_account_id: int | None
    original_account_id: int | None


async def feed_candidates(
    session: AsyncSession, follower_id: int, target_id: int, limit: int
) -> list[FeedCandidate]:
    """The target's newest statuses (and boosts) that the follower may see, newest first."""
    original = aliased(Status)
    stmt = (
        select(
            Status.id,
            Status.reblog_of_id,
            Status.language,
            Status.in_reply_to_account_id,
            original.account_id,
        )
        .outerjoin(original, original.id == Status.reblog_of_id)
        .where(
            Status.account_id == target_id,
            Status.visibility.in_(("public", "unlisted", "private")),
            visible_to(follower_id, Status),
            or_(
                Status.reblog_of_id.is_(None),
                and_(original.id.is_not(None), visible_to(follower_id, original)),
            ),
        )
        .order_by(Status.id.desc())
        .limit(limit)
    )
    result = await session.execute(stmt)
    return [FeedCandidate(r[0], r[1], r[2], r[3], r[4]) for r in result.all()]


async def following_among(session: AsyncSession, account_id: int, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    result = await session.execute(
        select(Follow.target_account_id).where(
            Follow.account_id == account_id, Follow.target_account_id.in_(list(ids))
        )
    )
    return {row[0] for row in result.all()}


async def shunned_among(session: AsyncSession, viewer_id: int, ids: Sequence[int], now: datetime) -> set[int]:
    """Which of `ids` the viewer blocks, is blocked by, mutes or domain-blocks."""
    if not ids:
        return set()
    stmt = select(Account.id).where(Account.id.in_(list(ids)), ~not_excluded_by(viewer_id, now))
    return {row[0] for row in (await session.execute(stmt)).all()}


async def originals_in_feed(session: AsyncSession, account_id: int, original_ids: Sequence[int]) -> set[int]:
    """Which of `original_ids` are already in the feed, as themselves or as someone's boost."""
    if not original_ids:
        return set()
    ids = list(original_ids)
    result = await session.execute(
        select(HomeFeedEntry.status_id, HomeFeedEntry.reblog_of_id).where(
            HomeFeedEntry.account_id == account_id,
            or_(HomeFeedEntry.status_id.in_(ids), HomeFeedEntry.reblog_of_id.in_(ids)),
        )
    )
    found: set[int] = set()
    for status_id, reblog_of_id in result.all():
        found.add(reblog_of_id if reblog_of_id in ids else status_id)
    return found


async def insert_feed_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            insert_for(session, HomeFeedEntry)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["account_id", "status_id"])
        )


async def delete_feed_entries(session: AsyncSession, account_id: int, origin_id: int, *, purge: bool) -> int:
    """Remove `origin_id`'s entries from a home feed; with `purge`, also others' boosts of them."""
    condition: ColumnElement[bool] = HomeFeedEntry.origin_account_id == origin_id
    if purge:
        authored = select(Status.id).where(Status.account_id == origin_id)
        condition = or_(
            condition,
            HomeFeedEntry.status_id.in_(authored),
            HomeFeedEntry.reblog_of_id.in_(authored),
        )
    result = await session.execute(
        delete(HomeFeedEntry).where(HomeFeedEntry.account_id == account_id, condition)
    )
    return int(getattr(result, "rowcount", 0) or 0)
