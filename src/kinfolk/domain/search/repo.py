"""All SQL for status search: the full-text match per database, and who may find what.

The PostgreSQL document expression must stay identical to the one indexed by the migration
(`ix_statuses_fulltext`), or the planner cannot use the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import TextClause

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import PollVote
from kinfolk.domain.relationships.repo import not_excluded_by, visible_account
from kinfolk.domain.statuses.models import Bookmark, Favourite, Mention, Status
from kinfolk.domain.visibility import account_exists, visible_to

PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, statuses.spoiler_text || ' ' || "
    "CASE WHEN statuses.text <> '' THEN statuses.text "
    "ELSE regexp_replace(statuses.content, '<[^>]*>', ' ', 'g') END)"
)


@dataclass(frozen=True)
class StatusQuery:
    """A parsed search, ready for SQL: the match text plus the narrowing conditions."""

    fts5_match: str  # for SQLite
    websearch_match: str  # for PostgreSQL
    viewer_id: int
    now: datetime
    limit: int
    offset: int = 0
    account_id: int | None = None
    from_account_ids: tuple[int, ...] | None = None
    max_id: int | None = None
    min_id: int | None = None
    has_media: bool = False
    has_poll: bool = False
    media_types: tuple[str, ...] = ()
    is_reply: bool = False
    is_sensitive: bool = False
    languages: tuple[str, ...] = ()
    before: datetime | None = None
    after: datetime | None = None
    library_only: bool = False


def _is_postgres(session: AsyncSession) -> bool:
    bind = session.bind
    return bind is not None and bind.dialect.name == "postgresql"


def _matches(session: AsyncSession, query: StatusQuery) -> ColumnElement[bool] | TextClause:
    if _is_postgres(session):
        return text(f"{PG_DOCUMENT} @@ websearch_to_tsquery('simple'::regconfig, :search_match)").bindparams(
            search_match=query.websearch_match
        )
    fts = text("statuses_fts MATCH :search_match").bindparams(search_match=query.fts5_match)
    return Status.id.in_(select(text("rowid")).select_from(text("statuses_fts")).where(fts))


def searchable_by(viewer_id: int) -> ColumnElement[bool]:
    """Statuses the viewer interacted with: wrote, was mentioned in, favourited, boosted,
    bookmarked, or voted in (Mastodon's `searchable_by`)."""
    reblog = aliased(Status)
    return or_(
        Status.account_id == viewer_id,
        exists().where(Mention.status_id == Status.id, Mention.account_id == viewer_id),
        exists().where(Favourite.status_id == Status.id, Favourite.account_id == viewer_id),
        exists().where(Bookmark.status_id == Status.id, Bookmark.account_id == viewer_id),
        exists().where(
            reblog.reblog_of_id == Status.id, reblog.account_id == viewer_id, reblog.deleted_at.is_(None)
        ),
        and_(
            Status.poll_id.is_not(None),
            exists().where(PollVote.poll_id == Status.poll_id, PollVote.account_id == viewer_id),
        ),
    )


def publicly_indexed() -> ColumnElement[bool]:
    """Public posts of authors who opted in to search (`indexable`)."""
    return and_(Status.visibility == "public", Account.indexable.is_(True))


async def search_statuses(session: AsyncSession, query: StatusQuery) -> list[Status]:
    scope = searchable_by(query.viewer_id)
    if not query.library_only:
        scope = or_(scope, publicly_indexed())
    conditions: list[ColumnElement[bool] | TextClause] = [
        Status.reblog_of_id.is_(None),
        Status.deleted_at.is_(None),
        _matches(session, query),
        scope,
        visible_to(query.viewer_id),
        visible_account(),
        or_(Account.id == query.viewer_id, not_excluded_by(query.viewer_id, query.now)),
    ]
    if query.account_id is not None:
        conditions.append(Status.account_id == query.account_id)
    if query.from_account_ids is not None:
        conditions.append(
            Status.account_id.in_(query.from_account_ids) if query.from_account_ids else false()
        )
    if query.max_id is not None:
        conditions.append(Status.id < query.max_id)
    if query.min_id is not None:
        conditions.append(Status.id > query.min_id)
    if query.has_media or query.media_types:
        media = exists().where(MediaAttachment.status_id == Status.id)
        if query.media_types:
            media = media.where(MediaAttachment.type.in_(query.media_types))
        conditions.append(media)
    if query.has_poll:
        conditions.append(Status.poll_id.is_not(None))
    if query.is_reply:
        conditions.append(Status.in_reply_to_id.is_not(None))
    if query.is_sensitive:
        conditions.append(Status.sensitive.is_(True))
    if query.languages:
        conditions.append(Status.language.in_(query.languages))
    if query.before is not None:
        conditions.append(Status.created_at < query.before)
    if query.after is not None:
        conditions.append(Status.created_at >= query.after)
    stmt = (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(*conditions)
        .order_by(Status.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    return list((await session.execute(stmt)).scalars())


async def account_ids_for_handles(
    session: AsyncSession, handles: list[str], viewer_id: int, local_hosts: set[str]
) -> tuple[int, ...]:
    """Ids for `from:` handles: `me`, `user` (local) or `user@domain`."""
    keys = set()
    ids: set[int] = set()
    for handle in handles:
        if handle == "me":
            ids.add(viewer_id)
            continue
        username, _, domain = handle.partition("@")
        domain = "" if not domain or domain in local_hosts else domain
        keys.add(f"{username}@{domain}")
    if keys:
        result = await session.execute(select(Account.id).where(Account.acct_key.in_(keys)))
        ids.update(result.scalars())
    return tuple(sorted(ids))


async def local_account(session: AsyncSession, username: str) -> Account | None:
    """A local, not suspended account by username."""
    result = await session.execute(select(Account).where(Account.acct_key == f"{username.lower()}@"))
    account = result.scalar_one_or_none()
    if account is None or account.suspended_at is not None:
        return None
    return account


async def get_status(session: AsyncSession, status_id: int) -> Status | None:
    return await session.get(Status, status_id)


async def existing_account(session: AsyncSession, account_id: int) -> Account | None:
    """An account that exists for the outside (not suspended, not awaiting approval)."""
    result = await session.execute(
        select(Account).where(Account.id == account_id, Account.suspended_at.is_(None), account_exists())
    )
    return result.scalar_one_or_none()
