"""All SQL for notifications, their grouping, the policy, requests and push subscriptions.

Listings filter in SQL, with the same conditions everywhere (`browsable`): the viewer's own
rows, a sender who is not suspended, a status (if any) that still exists and that the viewer
may still see, and the policy's filtered rows only when asked for. Grouped pages walk the
notifications newest first with a recursive query that keeps one row per group, as Mastodon's
does, written so that it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kinfolk.db.base import UTCDateTime
from kinfolk.db.prepared import Prepared, run_in, run_typed_in
from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.moderation.models import Report
from kinfolk.domain.notifications.models import (
    Notification,
    NotificationPermission,
    NotificationPolicy,
    NotificationRequest,
    PushSubscription,
)
from kinfolk.domain.oauth.models import AccessToken
from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.domain.relationships.models import AccountDomainBlock, Block, Follow, Mute
from kinfolk.domain.statuses.models import ConversationMute, Mention, Status
from kinfolk.domain.timelines.models import Marker
from kinfolk.domain.visibility import visible_to
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import id_value, new_id
from kinfolk.kernel.paging import Page

STAFF_ROLES = ("owner", "admin", "moderator")
# How far up a thread we look for the recipient's own private mention of the sender.
THREAD_DEPTH_LIMIT = 100


@dataclass(frozen=True)
class Browse:
    """Which of the viewer's notifications a listing shows."""

    viewer_id: int
    # None: every type.
    types: frozenset[str] | None = None
    from_account_id: int | None = None
    include_filtered: bool = False


# -- creating notifications -------------------------------------------------------------------


async def account_of_user(session: AsyncSession, user_id: int) -> int | None:
    return (await session.execute(select(User.account_id).where(User.id == user_id))).scalar()


@dataclass(frozen=True)
class SenderFacts:
    blocked: bool
    muted: bool
    domain_blocked: bool
    thread_muted: bool
    following: bool
    follower_since: datetime | None
    permitted: bool


@dataclass(frozen=True)
class PolicyChoices:
    """A recipient's policy: accept, filter or drop for each category."""

    for_not_following: str
    for_not_followers: str
    for_new_accounts: str
    for_private_mentions: str
    for_limited_accounts: str


@dataclass(frozen=True)
class NotifyContext:
    """What `notify` needs about a (local, not suspended) recipient and an existing sender."""

    recipient_role: str
    sender_role: str | None
    sender_silenced_at: datetime | None
    sender_created_at: datetime
    facts: SenderFacts
    # None: the recipient never set a policy.
    policy: PolicyChoices | None


_RECIPIENT_ID = bindparam("recipient_id", type_=BigInteger())
_SENDER_ID = bindparam("sender_id", type_=BigInteger())
_CONVERSATION_ID = bindparam("conversation_id", type_=BigInteger())
_NOW = bindparam("now", type_=UTCDateTime())


@cache
def _context_statement() -> Prepared:
    """One row, or none when the recipient is not a notifiable local user or the sender is gone.

    Built once: as an ORM statement per call (several of them, before), it cost a notification
    more CPU than all its SQL did."""
    recipient_account = Account.__table__.alias("recipient_account")
    sender = Account.__table__.alias("sender")
    sender_user = User.__table__.alias("sender_user")
    recipient, sender_id = _RECIPIENT_ID, _SENDER_ID
    blocked = exists().where(
        or_(
            and_(Block.account_id == recipient, Block.target_account_id == sender_id),
            and_(Block.account_id == sender_id, Block.target_account_id == recipient),
        )
    )
    muted = exists().where(
        Mute.account_id == recipient,
        Mute.target_account_id == sender_id,
        Mute.hide_notifications.is_(True),
        or_(Mute.expires_at.is_(None), Mute.expires_at > _NOW),
    )
    # A local sender (no domain) is never domain-blocked.
    domain_blocked = exists().where(
        AccountDomainBlock.account_id == recipient,
        AccountDomainBlock.domain == sender.c.domain,
        sender.c.domain != "",
    )
    # No conversation: a null parameter, which matches nothing.
    thread_muted = exists().where(
        ConversationMute.account_id == recipient, ConversationMute.conversation_id == _CONVERSATION_ID
    )
    following = exists().where(Follow.account_id == recipient, Follow.target_account_id == sender_id)
    follower_since = (
        select(Follow.created_at)
        .where(Follow.account_id == sender_id, Follow.target_account_id == recipient)
        .scalar_subquery()
    )
    permitted = exists().where(
        NotificationPermission.account_id == recipient, NotificationPermission.from_account_id == sender_id
    )
    policy = NotificationPolicy.__table__
    statement = (
        select(
            User.role,
            sender_user.c.role,
            sender.c.silenced_at,
            sender.c.created_at,
            blocked,
            muted,
            domain_blocked,
            thread_muted,
            following,
            type_coerce(follower_since, UTCDateTime()),
            permitted,
            policy.c.account_id,
            policy.c.for_not_following,
            policy.c.for_not_followers,
            policy.c.for_new_accounts,
            policy.c.for_private_mentions,
            policy.c.for_limited_accounts,
        )
        .select_from(User)
        .join(recipient_account, recipient_account.c.id == User.account_id)
        .join(sender, sender.c.id == sender_id)
        .outerjoin(sender_user, sender_user.c.account_id == sender.c.id)
        .outerjoin(policy, policy.c.account_id == User.account_id)
        .where(User.account_id == recipient, recipient_account.c.suspended_at.is_(None))
    )
    return Prepared(statement)


async def notify_context(
    session: AsyncSession, recipient_id: int, sender_id: int, conversation_id: int | None
) -> NotifyContext | None:
    """Everything the dismiss and policy rules ask about one recipient and one sender, in one query."""
    await flush_pending(session)
    rows = await run_typed_in(
        session,
        _context_statement(),
        {
            "recipient_id": recipient_id,
            "sender_id": sender_id,
            "conversation_id": conversation_id,
            "now": utcnow(),
        },
    )
    if not rows:
        return None
    row = rows[0]
    return NotifyContext(
        recipient_role=row[0],
        sender_role=row[1],
        sender_silenced_at=row[2],
        sender_created_at=row[3],
        facts=SenderFacts(
            blocked=bool(row[4]),
            muted=bool(row[5]),
            domain_blocked=bool(row[6]),
            thread_muted=bool(row[7]),
            following=bool(row[8]),
            follower_since=row[9],
            permitted=bool(row[10]),
        ),
        policy=PolicyChoices(*row[12:17]) if row[11] is not None else None,
    )


async def flush_pending(session: AsyncSession) -> None:
    """Statements run with `run_in` skip the session's autoflush: changes it still holds must
    reach the database first, as they would before an ORM query."""
    if session.new or session.dirty or session.deleted:
        await session.flush()


async def get_policy(session: AsyncSession, account_id: int) -> NotificationPolicy | None:
    return await session.get(NotificationPolicy, account_id)


async def mentioned_by_recipient_upthread(
    session: AsyncSession, in_reply_to_id: int, recipient_id: int, sender_id: int
) -> bool:
    """Whether the thread above holds a direct post by the recipient that mentions the sender."""
    first = select(Status.id.label("id"), Status.in_reply_to_id.label("parent_id"), literal(0).label("depth"))
    first = first.where(Status.id == in_reply_to_id)
    ancestors = first.cte("ancestors", recursive=True)
    parent = aliased(Status, name="parent")
    ancestors = ancestors.union_all(
        select(parent.id, parent.in_reply_to_id, ancestors.c.depth + 1)
        .join(ancestors, parent.id == ancestors.c.parent_id)
        .where(ancestors.c.depth < THREAD_DEPTH_LIMIT)
    )
    found = (
        select(literal(1))
        .select_from(ancestors)
        .join(Status, Status.id == ancestors.c.id)
        .join(Mention, and_(Mention.status_id == Status.id, Mention.account_id == sender_id))
        .where(Status.account_id == recipient_id, Status.visibility == "direct", Mention.silent.is_(False))
        .limit(1)
    )
    return (await session.execute(found)).first() is not None


@cache
def _latest_group_key_statement(count: int) -> Prepared:
    keys = [bindparam(f"key{i}", type_=String()) for i in range(count)]
    return Prepared(
        select(Notification.group_key)
        .where(Notification.account_id == _RECIPIENT_ID, Notification.group_key.in_(keys))
        .order_by(Notification.id.desc())
        .limit(1)
    )


async def latest_group_key(session: AsyncSession, recipient_id: int, keys: Sequence[str]) -> str | None:
    """Which of `keys` the recipient's most recent notification among them has (index lookups)."""
    if not keys:
        return None
    await flush_pending(session)
    values: dict[str, Any] = {f"key{i}": key for i, key in enumerate(keys)}
    values["recipient_id"] = recipient_id
    rows = await run_in(session, _latest_group_key_statement(len(keys)), values)
    return str(rows[0][0]) if rows else None


_NOTIFICATION_COLUMNS: dict[str, Any] = {
    "id": BigInteger(),
    "account_id": BigInteger(),
    "from_account_id": BigInteger(),
    "type": String(),
    "status_id": BigInteger(),
    "report_id": BigInteger(),
    "group_key": String(),
    "filtered": Boolean(),
    "created_at": UTCDateTime(),
}


@cache
def _insert_notification_statement() -> Prepared:
    return Prepared(
        insert(Notification).values(
            {name: bindparam(name, type_=type_) for name, type_ in _NOTIFICATION_COLUMNS.items()}
        )
    )


async def add_notification(session: AsyncSession, notification: Notification) -> None:
    """Insert the row without putting `notification` in the session: an ORM flush of one new
    row cost more than the rest of `notify`. The object stays transient (nothing else in the
    unit of work changes it); queries for notifications see the row, as it is in the
    transaction."""
    if notification.created_at is None:
        notification.created_at = utcnow()
    await flush_pending(session)
    await run_in(
        session,
        _insert_notification_statement(),
        {name: getattr(notification, name) for name in _NOTIFICATION_COLUMNS},
    )


async def count_filtered_from(session: AsyncSession, account_id: int, from_account_id: int, cap: int) -> int:
    capped = (
        select(Notification.id)
        .where(
            Notification.account_id == account_id,
            Notification.from_account_id == from_account_id,
            Notification.filtered.is_(True),
        )
        .limit(cap)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(capped))).scalar_one())


async def upsert_request(
    session: AsyncSession, account_id: int, from_account_id: int, last_status_id: int | None, count: int
) -> None:
    now = utcnow()
    stmt = insert_for(session, NotificationRequest).values(
        id=new_id(),
        account_id=account_id,
        from_account_id=from_account_id,
        last_status_id=last_status_id,
        notifications_count=count,
        dismissed=False,
        created_at=now,
        updated_at=now,
    )
    changes: dict[str, Any] = {"notifications_count": count, "updated_at": now}
    if last_status_id is not None:
        changes["last_status_id"] = last_status_id
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["account_id", "from_account_id"], set_=changes)
    )


async def staff_account_ids(session: AsyncSession) -> list[int]:
    """Local staff who can act on sign-ups and reports: not disabled, not suspended."""
    rows = await session.execute(
        select(User.account_id)
        .join(Account, Account.id == User.account_id)
        .where(User.role.in_(STAFF_ROLES), User.disabled.is_(False), Account.suspended_at.is_(None))
        .order_by(User.account_id)
    )
    return list(rows.scalars())


# -- browsing ---------------------------------------------------------------------------------


def browsable(n: Any, browse: Browse) -> list[ColumnElement[bool]]:
    """The conditions every listing applies, on `n` (Notification or an alias of it)."""
    author = aliased(Account)
    sender = aliased(Account)
    status_shown = or_(
        n.status_id.is_(None),
        exists(
            select(literal(1))
            .select_from(Status)
            .join(author, author.id == Status.account_id)
            .where(Status.id == n.status_id, author.suspended_at.is_(None), visible_to(browse.viewer_id))
        ),
    )
    conds: list[ColumnElement[bool]] = [
        n.account_id == browse.viewer_id,
        exists(select(literal(1)).where(sender.id == n.from_account_id, sender.suspended_at.is_(None))),
        status_shown,
    ]
    if browse.from_account_id is not None:
        conds.append(n.from_account_id == browse.from_account_id)
    elif not browse.include_filtered:
        conds.append(n.filtered.is_(False))
    if browse.types is not None:
        conds.append(n.type.in_(sorted(browse.types)))
    return conds


async def page_notifications(session: AsyncSession, browse: Browse, page: Page) -> list[Notification]:
    stmt = page.apply(select(Notification).where(*browsable(Notification, browse)), Notification.id)
    return page.arrange(list((await session.execute(stmt)).scalars()))


async def get_browsable(session: AsyncSession, browse: Browse, notification_id: int) -> Notification | None:
    stmt = select(Notification).where(Notification.id == notification_id, *browsable(Notification, browse))
    return (await session.execute(stmt)).scalar_one_or_none()


def _by_group_key(n: Any, group_key: str) -> ColumnElement[bool]:
    """`ungrouped-<id>` names one notification; any other key names a group."""
    if group_key.startswith("ungrouped-"):
        number = id_value(group_key.removeprefix("ungrouped-"))
        return literal(False) if number is None else n.id == number
    return n.group_key == group_key


async def latest_in_group(session: AsyncSession, browse: Browse, group_key: str) -> Notification | None:
    stmt = (
        select(Notification)
        .where(_by_group_key(Notification, group_key), *browsable(Notification, browse))
        .order_by(Notification.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def group_members(
    session: AsyncSession, browse: Browse, group_key: str, page: Page
) -> list[tuple[int, Account]]:
    """(notification id, sender) for a group's notifications, newest first, paged by notification id."""
    stmt = (
        select(Notification.id, Account)
        .join(Account, Account.id == Notification.from_account_id)
        .where(_by_group_key(Notification, group_key), *browsable(Notification, browse))
    )
    rows = (await session.execute(page.apply(stmt, Notification.id))).all()
    return page.arrange([(row[0], row[1]) for row in rows])


def _effective_key(n: Any, grouped_types: tuple[str, ...] | None) -> ColumnElement[str]:
    """The group a row counts in: its stored key, or its own when its type is not grouped here."""
    own = literal("ungrouped-") + cast(n.id, String)
    if grouped_types is None:
        return cast(n.group_key, Text)
    if not grouped_types:
        return cast(own, Text)
    return cast(case((n.type.in_(grouped_types), n.group_key), else_=own), Text)


def _contains(dialect: str, haystack: Any, needle: Any) -> ColumnElement[bool]:
    marker = literal("|") + needle + literal("|")
    position = func.strpos(haystack, marker) if dialect == "postgresql" else func.instr(haystack, marker)
    return position > 0


def grouped_query(dialect: str, browse: Browse, page: Page, grouped_types: tuple[str, ...] | None) -> Any:
    """One row (notification id, group key) per group: the most recent of each in the window.

    Walks the window one notification at a time, skipping groups already seen, until `limit`
    groups are found; the same thing Mastodon's query does, with the seen groups kept in a
    delimited string instead of a PostgreSQL array, so that SQLite can run it too.
    """
    forward = page.min_id is not None

    def window(n: Any) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if page.max_id is not None:
            conds.append(n.id < page.max_id)
        if page.min_id is not None:
            conds.append(n.id > page.min_id)
        elif page.since_id is not None:
            conds.append(n.id > page.since_id)
        return conds

    def order(n: Any) -> Any:
        return n.id.asc() if forward else n.id.desc()

    first = aliased(Notification, name="n_first")
    first_key = _effective_key(first, grouped_types)
    anchor = (
        select(first.id.label("id"), first_key.label("gk"))
        .where(*browsable(first, browse), *window(first))
        .order_by(order(first))
        .limit(1)
        .subquery("anchor")
    )
    walk = select(
        anchor.c.id,
        anchor.c.gk,
        cast(literal("|") + anchor.c.gk + literal("|"), Text).label("seen"),
        literal_column("1").label("depth"),
    ).cte("walk", recursive=True)

    candidate = aliased(Notification, name="n_next")
    candidate_key = _effective_key(candidate, grouped_types)
    beyond = candidate.id > walk.c.id if forward else candidate.id < walk.c.id
    next_id = (
        select(candidate.id)
        .where(
            *browsable(candidate, browse),
            *window(candidate),
            beyond,
            ~_contains(dialect, walk.c.seen, candidate_key),
        )
        .order_by(order(candidate))
        .limit(1)
        .scalar_subquery()
    )
    step = aliased(Notification, name="n_step")
    step_key = _effective_key(step, grouped_types)
    walk = walk.union_all(
        select(
            step.id,
            step_key,
            cast(walk.c.seen + step_key + literal("|"), Text),
            walk.c.depth + literal_column("1"),
        )
        .select_from(walk.join(step, step.id == next_id))
        .where(walk.c.depth < page.limit)
    )
    return walk


async def grouped_page(
    session: AsyncSession, dialect: str, browse: Browse, page: Page, grouped_types: tuple[str, ...] | None
) -> list[tuple[Notification, str]]:
    """The page's representative notifications with their effective group keys, newest first."""
    walk = grouped_query(dialect, browse, page, grouped_types)
    forward = page.min_id is not None
    stmt = (
        select(Notification, walk.c.gk)
        .join(walk, walk.c.id == Notification.id)
        .order_by(Notification.id.asc() if forward else Notification.id.desc())
    )
    rows = [(row[0], str(row[1])) for row in (await session.execute(stmt)).all()]
    return list(reversed(rows)) if forward else rows


async def count_groups(
    session: AsyncSession,
    dialect: str,
    browse: Browse,
    after_id: int | None,
    limit: int,
    grouped_types: tuple[str, ...] | None,
) -> int:
    walk = grouped_query(dialect, browse, Page(limit=limit, min_id=after_id or 0), grouped_types)
    return int((await session.execute(select(func.count()).select_from(walk))).scalar_one())


async def count_after(session: AsyncSession, browse: Browse, after_id: int | None, limit: int) -> int:
    capped = (
        select(Notification.id)
        .where(*browsable(Notification, browse), Notification.id > (after_id or 0))
        .limit(limit)
        .subquery()
    )
    return int((await session.execute(select(func.count()).select_from(capped))).scalar_one())


@dataclass(frozen=True)
class GroupStats:
    count: int
    most_recent_id: int
    oldest_in_page_id: int | None
    latest_at: datetime | None


async def group_stats(
    session: AsyncSession, account_id: int, keys: Sequence[str], begin: int | None, end: int | None
) -> dict[str, GroupStats]:
    """Per group: its size up to `end`, its newest id up to `end`, and its oldest id from `begin`."""
    if not keys:
        return {}
    n = Notification
    upto = n.id <= end if end is not None else literal(True)
    since = n.id >= begin if begin is not None else literal(True)
    stmt = (
        select(
            n.group_key,
            func.count(case((upto, 1))),
            func.max(case((upto, n.id))),
            func.min(case((since, n.id))),
            type_coerce(func.max(case((upto, n.created_at))), UTCDateTime()),
        )
        .join(Account, Account.id == n.from_account_id)
        .where(n.account_id == account_id, n.group_key.in_(list(keys)), Account.suspended_at.is_(None))
        .group_by(n.group_key)
    )
    out: dict[str, GroupStats] = {}
    for key, count, newest, oldest, latest_at in (await session.execute(stmt)).all():
        if newest is None:
            continue
        out[str(key)] = GroupStats(
            int(count), int(newest), int(oldest) if oldest is not None else None, latest_at
        )
    return out


async def group_samples(
    session: AsyncSession, account_id: int, keys: Sequence[str], end: int | None, size: int
) -> dict[str, list[int]]:
    """The senders of each group's most recent notifications (up to `end`), newest first, distinct."""
    if not keys:
        return {}
    n = Notification
    rank = func.row_number().over(partition_by=n.group_key, order_by=n.id.desc()).label("rank")
    conds = [n.account_id == account_id, n.group_key.in_(list(keys)), Account.suspended_at.is_(None)]
    if end is not None:
        conds.append(n.id <= end)
    ranked = (
        select(n.group_key.label("gk"), n.from_account_id.label("sender"), rank)
        .join(Account, Account.id == n.from_account_id)
        .where(*conds)
        .subquery()
    )
    stmt = (
        select(ranked.c.gk, ranked.c.sender)
        .where(ranked.c.rank <= size * 2)
        .order_by(ranked.c.gk, ranked.c.rank)
    )
    out: dict[str, list[int]] = {}
    for key, sender in (await session.execute(stmt)).all():
        senders = out.setdefault(str(key), [])
        if sender not in senders and len(senders) < size:
            senders.append(int(sender))
    return out


async def notifications_marker(session: AsyncSession, account_id: int) -> int | None:
    return (
        await session.execute(
            select(Marker.last_read_id).where(
                Marker.account_id == account_id, Marker.timeline == "notifications"
            )
        )
    ).scalar()


# -- loading what notifications point at ------------------------------------------------------


async def accounts_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Account]:
    if not ids:
        return {}
    rows = await session.execute(select(Account).where(Account.id.in_(ids)))
    return {a.id: a for a in rows.scalars()}


async def statuses_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Status]:
    if not ids:
        return {}
    rows = await session.execute(select(Status).where(Status.id.in_(ids)))
    return {s.id: s for s in rows.scalars()}


async def visible_statuses_by_id(session: AsyncSession, ids: set[int], viewer_id: int) -> dict[int, Status]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(Status.id.in_(ids), Account.suspended_at.is_(None), visible_to(viewer_id))
    )
    return {s.id: s for s in rows.scalars()}


async def reports_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Report]:
    if not ids:
        return {}
    rows = await session.execute(select(Report).where(Report.id.in_(ids)))
    return {r.id: r for r in rows.scalars()}


# -- removing ---------------------------------------------------------------------------------


async def delete_one(session: AsyncSession, account_id: int, notification_id: int) -> Notification | None:
    """Delete one of the account's notifications; the deleted row, or None if it was not theirs."""
    found = await session.execute(
        select(Notification).where(Notification.id == notification_id, Notification.account_id == account_id)
    )
    row = found.scalar_one_or_none()
    if row is not None:
        await session.execute(delete(Notification).where(Notification.id == row.id))
    return row


async def delete_all(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(Notification).where(Notification.account_id == account_id))


async def delete_group(session: AsyncSession, account_id: int, group_key: str) -> list[int]:
    """Delete a group; the senders of filtered rows removed, whose requests need a recount."""
    where = [Notification.account_id == account_id, _by_group_key(Notification, group_key)]
    senders = await session.execute(
        select(Notification.from_account_id).where(*where, Notification.filtered.is_(True)).distinct()
    )
    affected = list(senders.scalars())
    await session.execute(delete(Notification).where(*where))
    return affected


# -- policy and requests ----------------------------------------------------------------------


async def ensure_policy(session: AsyncSession, account_id: int) -> NotificationPolicy:
    await session.execute(
        insert_for(session, NotificationPolicy)
        .values(
            account_id=account_id,
            for_not_following="accept",
            for_not_followers="accept",
            for_new_accounts="accept",
            for_private_mentions="filter",
            for_limited_accounts="filter",
        )
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    policy = await session.get(NotificationPolicy, account_id, populate_existing=True)
    assert policy is not None
    return policy


async def request_summary(session: AsyncSession, account_id: int, cap: int) -> tuple[int, int]:
    """(pending requests, pending notifications), over at most `cap` requests, as Mastodon counts."""
    capped = (
        select(NotificationRequest.notifications_count.label("count"))
        .join(Account, Account.id == NotificationRequest.from_account_id)
        .where(
            NotificationRequest.account_id == account_id,
            NotificationRequest.dismissed.is_(False),
            Account.suspended_at.is_(None),
        )
        .limit(cap)
        .subquery()
    )
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(capped.c.count), 0)))).one()
    return int(row[0]), int(row[1])


def _requests_of(account_id: int) -> Any:
    return (
        select(NotificationRequest)
        .join(Account, Account.id == NotificationRequest.from_account_id)
        .where(
            NotificationRequest.account_id == account_id,
            NotificationRequest.dismissed.is_(False),
            Account.suspended_at.is_(None),
        )
    )


async def page_requests(session: AsyncSession, account_id: int, page: Page) -> list[NotificationRequest]:
    stmt = page.apply(_requests_of(account_id), NotificationRequest.id)
    return page.arrange(list((await session.execute(stmt)).scalars()))


async def get_requests(
    session: AsyncSession, account_id: int, ids: Sequence[int]
) -> list[NotificationRequest]:
    if not ids:
        return []
    stmt = (
        _requests_of(account_id).where(NotificationRequest.id.in_(list(ids))).order_by(NotificationRequest.id)
    )
    return list((await session.execute(stmt)).scalars())


async def get_request_from(
    session: AsyncSession, account_id: int, from_account_id: int
) -> NotificationRequest | None:
    stmt = select(NotificationRequest).where(
        NotificationRequest.account_id == account_id, NotificationRequest.from_account_id == from_account_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_request(session: AsyncSession, request_id: int) -> None:
    await session.execute(delete(NotificationRequest).where(NotificationRequest.id == request_id))


async def set_request_count(session: AsyncSession, request_id: int, count: int) -> None:
    await session.execute(
        update(NotificationRequest)
        .where(NotificationRequest.id == request_id)
        .values(notifications_count=count, updated_at=utcnow())
    )


async def permit(session: AsyncSession, account_id: int, from_account_id: int) -> None:
    await session.execute(
        insert_for(session, NotificationPermission)
        .values(account_id=account_id, from_account_id=from_account_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["account_id", "from_account_id"])
    )


async def unfilter_from(session: AsyncSession, account_id: int, from_account_id: int) -> None:
    await session.execute(
        update(Notification)
        .where(
            Notification.account_id == account_id,
            Notification.from_account_id == from_account_id,
            Notification.filtered.is_(True),
        )
        .values(filtered=False)
    )


async def delete_filtered_from(session: AsyncSession, account_id: int, from_account_id: int) -> None:
    await session.execute(
        delete(Notification).where(
            Notification.account_id == account_id,
            Notification.from_account_id == from_account_id,
            Notification.filtered.is_(True),
        )
    )


# -- push subscriptions -----------------------------------------------------------------------


async def subscription_for_token(session: AsyncSession, token_id: int) -> PushSubscription | None:
    stmt = select(PushSubscription).where(PushSubscription.access_token_id == token_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_subscription_for_token(session: AsyncSession, token_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.access_token_id == token_id))


async def delete_subscription(session: AsyncSession, subscription_id: int) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


async def add_subscription(session: AsyncSession, subscription: PushSubscription) -> None:
    session.add(subscription)
    await session.flush()


def _token_usable() -> ColumnElement[bool]:
    """The subscription's token still works: a revoked or expired token's client gets nothing."""
    return exists().where(
        AccessToken.id == PushSubscription.access_token_id,
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > utcnow()),
    )


@cache
def _push_wants_statement() -> Prepared:
    token = AccessToken.__table__
    usable = exists().where(
        token.c.id == PushSubscription.access_token_id,
        token.c.revoked_at.is_(None),
        or_(token.c.expires_at.is_(None), token.c.expires_at > _NOW),
    )
    return Prepared(
        select(PushSubscription.id, PushSubscription.alerts, PushSubscription.policy)
        .where(PushSubscription.account_id == _RECIPIENT_ID, usable)
        .order_by(PushSubscription.id)
    )


async def push_wants(session: AsyncSession, account_id: int) -> list[tuple[int, dict[str, Any], str]]:
    """(id, alerts, policy) of each subscription of the account whose token still works: what
    deciding on a push needs, for every notification, without loading subscriptions."""
    await flush_pending(session)
    rows = await run_typed_in(session, _push_wants_statement(), {"recipient_id": account_id, "now": utcnow()})
    return [(int(row[0]), row[1] or {}, row[2]) for row in rows]


async def follow_facts(session: AsyncSession, account_id: int, other_id: int) -> tuple[bool, bool]:
    """(account follows other, other follows account)."""
    follows = exists().where(Follow.account_id == account_id, Follow.target_account_id == other_id)
    followed_by = exists().where(Follow.account_id == other_id, Follow.target_account_id == account_id)
    row = (await session.execute(select(follows, followed_by))).one()
    return bool(row[0]), bool(row[1])


async def push_context(
    session: AsyncSession, subscription_id: int, notification_id: int
) -> tuple[PushSubscription, Notification, Account, User] | None:
    """A subscription with the notification it should announce, if both still exist and match."""
    row = (
        await session.execute(
            select(PushSubscription, Notification, Account, User)
            .join(Notification, Notification.account_id == PushSubscription.account_id)
            .join(Account, Account.id == Notification.from_account_id)
            .join(User, User.account_id == PushSubscription.account_id)
            .where(
                PushSubscription.id == subscription_id, Notification.id == notification_id, _token_usable()
            )
        )
    ).first()
    return (row[0], row[1], row[2], row[3]) if row is not None else None


# -- polls ------------------------------------------------------------------------------------


async def claim_expired_polls(session: AsyncSession, now: datetime, batch: int) -> list[tuple[int, int, int]]:
    """Mark up to `batch` ended, unannounced polls as announced; (poll, status, author) for each.

    The UPDATE only claims rows still unannounced, so two runs never announce a poll twice.
    """
    due = (
        select(Poll.id)
        .where(Poll.notified.is_(False), Poll.expires_at.is_not(None), Poll.expires_at <= now)
        .order_by(Poll.expires_at)
        .limit(batch)
    )
    ids = list((await session.execute(due)).scalars())
    if not ids:
        return []
    claimed = await session.execute(
        update(Poll)
        .where(Poll.id.in_(ids), Poll.notified.is_(False))
        .values(notified=True)
        .returning(Poll.id, Poll.status_id, Poll.account_id)
    )
    return [(int(p), int(s), int(a)) for p, s, a in claimed.all() if s is not None]


async def local_voters(session: AsyncSession, poll_id: int) -> list[int]:
    rows = await session.execute(
        select(PollVote.account_id)
        .join(User, User.account_id == PollVote.account_id)
        .where(PollVote.poll_id == poll_id)
        .distinct()
    )
    return sorted(rows.scalars())


async def remove_notifications(
    session: AsyncSession, *, type_: str, from_account_id: int, status_id: int
) -> None:
    """Take back what an undone action notified (an unfavourite, an unboost): Mastodon deletes
    the notification with the favourite or boost it was about."""
    await session.execute(
        delete(Notification)
        .where(
            Notification.type == type_,
            Notification.from_account_id == from_account_id,
            Notification.status_id == status_id,
        )
        .execution_options(synchronize_session=False)
    )
