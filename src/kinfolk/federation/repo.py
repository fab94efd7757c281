"""The reads ActivityPub documents need: local actors, statuses with their rows, collection pages.

Every status read here goes through the one visibility policy with no viewer
(`visibility.visible_to(None)`), the rule for an unsigned fetch: public and unlisted only.
Lists load each kind of related row once per page, whatever its length.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from kinfolk.domain import visibility
from kinfolk.domain.accounts import repo as accounts_repo
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.emojis.service import account_text, emojis_for_texts, status_text
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses import repo as statuses_repo
from kinfolk.domain.statuses.models import Conversation, Status, StatusPin
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags.models import StatusTag, Tag
from kinfolk.federation.render.collections import PageCursor
from kinfolk.federation.render.emoji import emoji_tags
from kinfolk.federation.render.env import RenderEnv
from kinfolk.federation.render.note import NoteRows, status_uri

_Boosted = aliased(Status)
T = TypeVar("T")
SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


async def local_actor(session: AsyncSession, username: str) -> tuple[Account, User | None] | None:
    """A local account that exists for the outside: not suspended, not awaiting approval."""
    result = await session.execute(
        select(Account).where(
            Account.acct_key == accounts_repo.acct_key(username, None),
            Account.domain.is_(None),
            Account.suspended_at.is_(None),
            visibility.account_exists(),
        )
    )
    account = result.scalar_one_or_none()
    if account is None:
        return None
    return account, await accounts_repo.get_user_for_account(session, account.id)


async def deleted_local_actor(session: AsyncSession, username: str) -> Account | None:
    """A local account that was deleted (`domain/accounts/deletion.py`): its actor is gone (410)."""
    result = await session.execute(
        select(Account).where(
            Account.acct_key == accounts_repo.acct_key(username, None),
            Account.domain.is_(None),
            Account.deleted_at.is_not(None),
        )
    )
    return result.scalar_one_or_none()


async def actor_emojis(session: AsyncSession, env: RenderEnv, account: Account) -> list[dict[str, Any]]:
    """`Emoji` tags for the custom emojis a local actor's name, bio and fields use."""
    found = await emojis_for_texts(session, [(account.domain, account_text(account))])
    return emoji_tags(env, found[0])


async def stats(session: AsyncSession, account_id: int) -> AccountStats | None:
    return await session.get(AccountStats, account_id)


async def public_status(
    session: AsyncSession, author: Account, status_id: int, viewer: Account | None = None
) -> Status | None:
    """A status of `author` that an unsigned fetch may read (boosts included), or, for a fetch
    signed by `viewer` (secure mode), one the visibility policy lets `viewer` see."""
    result = await session.execute(
        select(Status).where(
            Status.id == status_id,
            Status.account_id == author.id,
            visibility.visible_to(viewer.id if viewer is not None else None),
        )
    )
    return result.scalar_one_or_none()


async def boosted_of(session: AsyncSession, boost: Status) -> tuple[Status, Account] | None:
    """The status a boost boosts, when an unsigned fetch may read it and its author exists."""
    if boost.reblog_of_id is None:
        return None
    result = await session.execute(
        select(Status, Account)
        .join(Account, Account.id == Status.account_id)
        .where(Status.id == boost.reblog_of_id, visibility.visible_to(None), Account.suspended_at.is_(None))
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def note_rows(session: AsyncSession, env: RenderEnv, statuses: list[Status]) -> list[NoteRows]:
    """`NoteRows` for original (not boost) statuses, in the order given."""
    if not statuses:
        return []
    ids = [s.id for s in statuses]
    authors = await accounts_repo.get_accounts(session, list({s.account_id for s in statuses}))
    parent_ids = list({s.in_reply_to_id for s in statuses if s.in_reply_to_id is not None})
    parents: dict[int, str] = {}
    if parent_ids:
        result = await session.execute(
            select(Status, Account)
            .join(Account, Account.id == Status.account_id)
            .where(Status.id.in_(parent_ids))
        )
        for parent, parent_author in result.all():
            parents[parent.id] = status_uri(env, parent, parent_author)
    mentions = await statuses_repo.mentions_for(session, ids)
    tags = await tags_repo.tags_for_statuses(session, ids)
    media_rows = await session.execute(
        select(MediaAttachment)
        .where(MediaAttachment.status_id.in_(ids))
        .order_by(MediaAttachment.position, MediaAttachment.id)
    )
    media: dict[int, list[MediaAttachment]] = {}
    for attachment in media_rows.scalars():
        if attachment.status_id is not None:
            media.setdefault(attachment.status_id, []).append(attachment)
    poll_ids = [s.poll_id for s in statuses if s.poll_id is not None]
    polls: dict[int, Poll] = {}
    if poll_ids:
        polls = {
            p.id: p for p in (await session.execute(select(Poll).where(Poll.id.in_(poll_ids)))).scalars()
        }
    # Emojis used in the text (our own for local posts: only those that exist are tagged).
    emojis = await emojis_for_texts(
        session,
        [
            (
                authors[s.account_id].domain,
                status_text(
                    s.spoiler_text, s.content, polls[s.poll_id].options if s.poll_id in polls else None
                ),
            )
            for s in statuses
        ],
    )
    conversation_ids = list({s.conversation_id for s in statuses if s.conversation_id is not None})
    conversations: dict[int, Conversation] = {}
    owned: dict[int, Status] = {}
    if conversation_ids:
        found = await session.execute(select(Conversation).where(Conversation.id.in_(conversation_ids)))
        conversations = {c.id: c for c in found.scalars()}
        owned = await local_thread_roots(session, conversation_ids)
    return [
        NoteRows(
            status=s,
            author=authors[s.account_id],
            in_reply_to=parents.get(s.in_reply_to_id) if s.in_reply_to_id is not None else None,
            mentions=[account for _, account in mentions.get(s.id, [])],
            tags=tags.get(s.id, []),
            media=media.get(s.id, []),
            poll=polls.get(s.poll_id) if s.poll_id is not None else None,
            conversation=conversations.get(s.conversation_id) if s.conversation_id is not None else None,
            emojis=emoji_tags(env, found),
            context=env.uris.context(s.conversation_id) if s.conversation_id in owned else None,
        )
        for s, found in zip(statuses, emojis, strict=True)
    ]


def _outbox_condition(account_id: int) -> list[ColumnElement[bool]]:
    """An author's public and unlisted statuses and their boosts of statuses still public."""
    return [
        Status.account_id == account_id,
        visibility.visible_to(None),
        or_(
            Status.reblog_of_id.is_(None),
            and_(_Boosted.deleted_at.is_(None), _Boosted.visibility.in_(("public", "unlisted"))),
        ),
    ]


async def outbox_count(session: AsyncSession, account_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Status)
        .outerjoin(_Boosted, _Boosted.id == Status.reblog_of_id)
        .where(*_outbox_condition(account_id))
    )
    return int((await session.execute(stmt)).scalar_one())


def _arranged(rows: list[T], cursor: PageCursor, limit: int) -> tuple[list[T], bool]:
    """A page's rows newest first, and whether the query found more beyond it (it asks for one
    row past `limit`); a `min_id` page was read oldest first and is turned around."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    if cursor.min_id is not None and cursor.max_id is None:
        rows.reverse()
    return rows, has_more


def _bounded(stmt: SelectT, column: InstrumentedAttribute[int], cursor: PageCursor, limit: int) -> SelectT:
    if cursor.max_id is not None:
        stmt = stmt.where(column < cursor.max_id)
    if cursor.min_id is not None:
        stmt = stmt.where(column > cursor.min_id)
    forward = cursor.min_id is not None and cursor.max_id is None
    return stmt.order_by(column.asc() if forward else column.desc()).limit(limit + 1)


async def outbox_page(
    session: AsyncSession, account_id: int, cursor: PageCursor, limit: int
) -> tuple[list[Status], bool]:
    stmt = (
        select(Status.id)
        .outerjoin(_Boosted, _Boosted.id == Status.reblog_of_id)
        .where(*_outbox_condition(account_id))
    )
    found = list((await session.execute(_bounded(stmt, Status.id, cursor, limit))).scalars())
    ids, has_more = _arranged(found, cursor, limit)
    statuses = await statuses_repo.get_statuses(session, ids)
    return [statuses[i] for i in ids if i in statuses], has_more


async def follow_page(
    session: AsyncSession, account_id: int, cursor: PageCursor, limit: int, *, followers: bool
) -> tuple[list[tuple[int, Account]], bool]:
    """(follow id, other account) for the followers (or the followed) of `account_id`."""
    own, other = (
        (Follow.target_account_id, Follow.account_id)
        if followers
        else (Follow.account_id, Follow.target_account_id)
    )
    stmt = (
        select(Follow.id, Account)
        .join(Account, Account.id == other)
        .where(own == account_id, Account.suspended_at.is_(None))
    )
    found = [
        (row[0], row[1]) for row in (await session.execute(_bounded(stmt, Follow.id, cursor, limit))).all()
    ]
    return _arranged(found, cursor, limit)


async def pinned(session: AsyncSession, account_id: int) -> list[Status]:
    result = await session.execute(
        select(Status)
        .join(StatusPin, StatusPin.status_id == Status.id)
        .where(
            StatusPin.account_id == account_id, Status.account_id == account_id, visibility.visible_to(None)
        )
        .order_by(StatusPin.id.desc())
    )
    return list(result.scalars())


async def featured_tags(session: AsyncSession, account_id: int) -> list[Tag]:
    return [tag for _, tag in await tags_repo.featured_tags(session, account_id)]


async def local_thread_roots(session: AsyncSession, conversation_ids: list[int]) -> dict[int, Status]:
    """The threads among `conversation_ids` started here, by their root post: those we publish
    as FEP-f228 `context` collections (a thread started elsewhere is its origin's to list)."""
    result = await session.execute(
        select(Status).where(
            Status.conversation_id.in_(conversation_ids),
            Status.in_reply_to_id.is_(None),
            Status.reblog_of_id.is_(None),
            Status.local.is_(True),
        )
    )
    return {s.conversation_id: s for s in result.scalars() if s.conversation_id is not None}


async def thread_posts(
    session: AsyncSession, conversation_id: int, limit: int, *, after: int | None = None
) -> list[Status]:
    """Public and unlisted posts of a thread (no boosts), oldest first, after `after` (an id)."""
    stmt = select(Status).where(
        Status.conversation_id == conversation_id,
        Status.reblog_of_id.is_(None),
        visibility.visible_to(None),
    )
    if after is not None:
        stmt = stmt.where(Status.id > after)
    result = await session.execute(stmt.order_by(Status.id).limit(limit))
    return list(result.scalars())


async def public_replies(
    session: AsyncSession, status_id: int, limit: int, *, after: int | None = None
) -> list[Status]:
    """Public and unlisted replies to a status, oldest first, those after `after` (an id)."""
    stmt = select(Status).where(Status.in_reply_to_id == status_id, visibility.visible_to(None))
    if after is not None:
        stmt = stmt.where(Status.id > after)
    result = await session.execute(stmt.order_by(Status.id).limit(limit))
    return list(result.scalars())


async def tagged_count(session: AsyncSession, tag_id: int) -> int:
    """How many of our public posts carry the tag: a hashtag collection's `totalItems` (Mastodon
    counts the tag's statuses; only public ones are counted here, so that the number tells an
    unsigned reader nothing about posts it may not see)."""
    stmt = (
        select(func.count())
        .select_from(StatusTag)
        .join(Status, Status.id == StatusTag.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(
            StatusTag.tag_id == tag_id,
            Status.local.is_(True),
            Status.visibility == "public",
            Status.reblog_of_id.is_(None),
            Status.deleted_at.is_(None),
            Account.suspended_at.is_(None),
        )
    )
    return int((await session.execute(stmt)).scalar_one())
