"""Storing a status, local or remote: the one place a status and what hangs off it is written.

Composing a local post (text to HTML, mentions, hashtags, validation) lives in `service.py`;
federation turns a remote `Create` into the same `NewStatus`. Both come here, so both get the
same rows, the same counters and the same `statuses.created` job (fan-out, notifications,
streams): no parallel "remote" copy of the rules.

The store is lean on purpose (bench/RESULTS.md, G2): it writes what it is given and reads
nothing back. Every row's id is chosen here, so the status, its conversation, counters, poll,
mentions and tags go out in one flush (one batched INSERT per table), and the response is built
from `Posted` rather than re-read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import PollParams, build_poll
from kinfolk.domain.statuses import repo
from kinfolk.domain.statuses.models import (
    VISIBILITIES,
    Conversation,
    Mention,
    Status,
    StatusEdit,
    StatusStats,
)
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags.models import Tag
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable
from kinfolk.kernel.ids import new_id
from kinfolk.kernel.uris import Uris

CREATED_JOB = "statuses.created"
# Bounds for what a remote server may hand us; a local post is validated long before.
MAX_URI = 1024
MAX_MENTIONS = 500
MAX_TAGS = 100


@dataclass
class NewStatus:
    """A status to store, already composed: HTML rendered (local) or sanitised (remote), the
    accounts it mentions and the statuses it answers, quotes or boosts found. Rows the caller
    holds are passed as rows, so that storing never reads them again."""

    local: bool
    content: str
    # Remote statuses keep the ids and pages their server gave; local ones get ours (`Uris`).
    uri: str | None = None
    url: str | None = None
    # The author's source text: local statuses only (a remote one has only its HTML).
    text: str = ""
    spoiler_text: str = ""
    visibility: str = "public"
    sensitive: bool = False
    language: str | None = None
    in_reply_to: Status | None = None
    # Remote replies whose parent is not stored (yet): who it answers, when known.
    in_reply_to_account_id: int | None = None
    reblog_of: Status | None = None
    quote_of: Status | None = None
    quote_state: str | None = None
    quote_policy: str = "public"
    created_at: datetime | None = None
    # A remote status seen after an edit carries its `updated` time.
    edited_at: datetime | None = None
    mentions: list[Account] = field(default_factory=list)
    tag_names: list[str] = field(default_factory=list)
    # The author's media, already checked (local) or copied (remote), in display order.
    media: list[MediaAttachment] = field(default_factory=list)
    poll: PollParams | None = None
    application_id: int | None = None
    # Chosen by the caller when something else must name the status first (Idempotency-Key).
    status_id: int | None = None
    # A remote post fetched to complete a thread or a profile, not delivered to us: it is
    # stored and counted, but reaches no home feed, stream or notification (it is old news).
    quiet: bool = False


@dataclass
class Posted:
    """A status as the store made it, with the rows it made it from: enough to render it for its
    author without reading any of it back. `fresh` is False when the status existed already (an
    Idempotency-Key's earlier post, a remote status seen before), whose relations are not in hand."""

    status: Status
    author: Account
    fresh: bool = False
    stats: StatusStats | None = None
    mentioned: list[Account] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    media: list[MediaAttachment] = field(default_factory=list)
    poll: Poll | None = None
    thread: Status | None = None
    # The author's counters as the post left them (None when not in hand).
    author_stats: AccountStats | None = None


def _check(author: Account, new: NewStatus) -> None:
    """What the store itself insists on, whoever composed the status: a local status by a local
    account, a remote one by a remote account under an id of its own, and sizes within bounds."""
    if new.visibility not in VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    if new.local != author.is_local:
        raise Unprocessable("Validation failed: a status is stored as local only by a local account")
    if not new.local and not new.uri:
        raise Unprocessable("Validation failed: a remote status needs its id")
    for value in (new.uri, new.url):
        if value is not None and len(value) > MAX_URI:
            raise Unprocessable("Validation failed: URI is too long")
    if len(new.mentions) > MAX_MENTIONS or len(new.tag_names) > MAX_TAGS:
        raise Unprocessable("Validation failed: too many mentions or tags")


def check_new_status(author: Account, new: NewStatus) -> None:
    """The store's own checks, for a caller that must know before it writes anything else
    (remote media rows); raises Unprocessable."""
    _check(author, new)


async def store_status(uow: UnitOfWork, uris: Uris, author: Account, new: NewStatus) -> Posted:
    """Insert the status with its conversation, counters, poll, mentions, tags and media links,
    count it on its author, its thread, the quoted or boosted status, and enqueue
    `statuses.created` in the same transaction."""
    _check(author, new)
    session = uow.session
    created_at = new.created_at or utcnow()
    status_id = new.status_id or (new_id(int(created_at.timestamp() * 1000)) if new.created_at else new_id())
    thread = new.in_reply_to
    shared = thread if thread is not None else new.reblog_of
    if shared is not None and shared.conversation_id is not None:
        conversation_id = shared.conversation_id
    else:
        # Ours to choose, so it goes out in the same flush as the status.
        conversation_id = new_id()
        session.add(Conversation(id=conversation_id))
    uri: str | None
    url: str | None
    if new.local:
        uri = (
            uris.status_activity(author.username, status_id)
            if new.reblog_of
            else uris.status(author.username, status_id)
        )
        url = None if new.reblog_of else uris.status_page(author.username, status_id)
    else:
        uri, url = new.uri, new.url
    poll: Poll | None = None
    if new.poll is not None:
        poll = build_poll(author.id, new.poll)
        poll.id = new_id()
        poll.status_id = status_id
    status = Status(
        id=status_id,
        account_id=author.id,
        uri=uri,
        url=url,
        local=new.local,
        text=new.text,
        content=new.content,
        spoiler_text=new.spoiler_text,
        sensitive=new.sensitive or bool(new.spoiler_text),
        visibility=new.visibility,
        language=new.language,
        in_reply_to_id=thread.id if thread else None,
        in_reply_to_account_id=thread.account_id if thread else new.in_reply_to_account_id,
        reblog_of_id=new.reblog_of.id if new.reblog_of else None,
        quote_of_id=new.quote_of.id if new.quote_of else None,
        quote_state=new.quote_state or ("accepted" if new.quote_of else None),
        quote_policy=new.quote_policy,
        conversation_id=conversation_id,
        poll_id=poll.id if poll else None,
        application_id=new.application_id,
        created_at=created_at,
        edited_at=new.edited_at,
    )
    # Zeros to render, not a row to write: the counters row is made by the first reply,
    # boost, favourite or quote (`repo.bump_status_stat`), and every reader outer-joins it.
    # A boost has no counters of its own: it is counted on the status it boosts.
    stats = (
        None
        if new.reblog_of is not None
        else StatusStats(
            status_id=status_id, replies_count=0, reblogs_count=0, favourites_count=0, quotes_count=0
        )
    )
    session.add(status)
    # The rows that point at the status go in the next flush: without ORM relationships the
    # flush does not order tables by their foreign keys.
    await session.flush()
    if poll is not None:
        session.add(poll)
    for position, item in enumerate(new.media):
        item.status_id = status_id
        item.position = position
    mentioned = list({a.id: a for a in new.mentions}.values())
    session.add_all([Mention(id=new_id(), status_id=status_id, account_id=a.id) for a in mentioned])
    tags = await tags_repo.get_or_create_tags(session, new.tag_names, used_at=created_at)
    await tags_repo.set_status_tags(session, status_id, author.id, new.local, tags, created_at, new=True)
    author_stats = await repo.bump_account_statuses(session, author.id, 1, touch=True)
    if thread is not None:
        await repo.bump_status_stat(session, thread.id, "replies_count", 1)
    if new.quote_of is not None:
        await repo.bump_status_stat(session, new.quote_of.id, "quotes_count", 1)
    if new.reblog_of is not None:
        await repo.bump_status_stat(session, new.reblog_of.id, "reblogs_count", 1)
    await session.flush()
    await uow.enqueue(
        CREATED_JOB, {"status_id": status_id, "quiet": True} if new.quiet else {"status_id": status_id}
    )
    return Posted(
        status=status,
        author=author,
        fresh=True,
        stats=stats,
        mentioned=mentioned,
        tags=tags,
        media=list(new.media),
        poll=poll,
        thread=thread,
        author_stats=author_stats,
    )


async def store_remote_status(
    uow: UnitOfWork, uris: Uris, author: Account, new: NewStatus, *, known_new: bool = False
) -> Posted:
    """A remote status, once: one already stored under the same id is returned as it is
    (`fresh=False`), so a repeated `Create` or a status reached twice stores nothing again. An
    edit goes through the edit path, not here. `known_new`: the caller looked the id up in this
    same unit of work and found nothing (a second look would cost every remote post a query)."""
    if new.local or not new.uri:
        raise Unprocessable("Validation failed: a remote status needs its id")
    existing = (
        None
        if known_new
        else (await uow.session.execute(select(Status).where(Status.uri == new.uri))).scalar_one_or_none()
    )
    if existing is not None:
        if existing.account_id != author.id:
            # Another actor's id: an actor only ever speaks for itself (FEP-fe34).
            raise Unprocessable("Validation failed: the status belongs to another actor")
        return Posted(status=existing, author=author)
    return await store_status(uow, uris, author, new)


async def attach_parent(uow: UnitOfWork, status: Status, parent: Status) -> bool:
    """Link a stored remote post whose parent was unknown when it came (a reply chain longer
    than was fetched then) to that parent, now stored: it and the posts below it join the
    parent's thread, as if the parent had been there first. Returns whether it was linked
    (not when it has a parent already, is local, or `parent` is itself or on another thread
    that includes it)."""
    if status.local or status.in_reply_to_id is not None or parent.id == status.id:
        return False
    session = uow.session
    old, new = status.conversation_id, parent.conversation_id
    if old is not None and old == new:
        return False  # the parent is already below this post: linking would make a cycle
    status.in_reply_to_id = parent.id
    status.in_reply_to_account_id = parent.account_id
    if old is not None and new is not None:
        await session.execute(update(Status).where(Status.conversation_id == old).values(conversation_id=new))
        status.conversation_id = new
    await repo.bump_status_stat(session, parent.id, "replies_count", 1)
    await session.flush()
    return True


async def edit_remote_status(uow: UnitOfWork, status: Status, author: Account, new: NewStatus) -> bool:
    """Apply a remote `Update` of `status` as a local edit is recorded: the first edit keeps the
    original as revision one, each edit adds a revision, and `statuses.updated` re-renders it
    everywhere. Returns False (nothing written) when the update is not newer than what is stored
    (checklist 80) or `status` is not `author`'s (checklist 24)."""
    if new.local or status.local or status.account_id != author.id:
        return False
    _check(author, new)
    edited_at = max(new.edited_at or utcnow(), status.created_at)
    # Newer than the last edit, as Mastodon compares; a first edit may carry the very second of
    # publishing, since ActivityStreams times are whole seconds.
    if status.edited_at is not None and edited_at <= status.edited_at:
        return False
    session = uow.session
    current_media = [
        row[0]
        for row in (
            await session.execute(
                select(MediaAttachment.id)
                .where(MediaAttachment.status_id == status.id)
                .order_by(MediaAttachment.position)
            )
        ).all()
    ]
    if not await repo.edits_for(session, status.id):
        session.add(
            StatusEdit(
                status_id=status.id,
                account_id=author.id,
                content=status.content,
                spoiler_text=status.spoiler_text,
                sensitive=status.sensitive,
                media_attachment_ids=current_media,
                created_at=status.created_at,
            )
        )
    status.content = new.content
    status.spoiler_text = new.spoiler_text
    status.sensitive = new.sensitive or bool(new.spoiler_text)
    if new.language:
        status.language = new.language
    status.edited_at = edited_at
    media_ids = current_media
    if new.media:
        # New attachments replace the old ones, in the order given.
        await session.execute(
            update(MediaAttachment).where(MediaAttachment.status_id == status.id).values(status_id=None)
        )
        for position, item in enumerate(new.media):
            item.status_id = status.id
            item.position = position
        media_ids = [m.id for m in new.media]
    await repo.replace_mentions(session, status.id, [a.id for a in {a.id: a for a in new.mentions}.values()])
    tags = await tags_repo.get_or_create_tags(session, new.tag_names, used_at=edited_at)
    await tags_repo.set_status_tags(session, status.id, author.id, False, tags, edited_at)
    session.add(
        StatusEdit(
            status_id=status.id,
            account_id=author.id,
            content=status.content,
            spoiler_text=status.spoiler_text,
            sensitive=status.sensitive,
            media_attachment_ids=media_ids,
            created_at=edited_at,
        )
    )
    await session.flush()
    await uow.enqueue("statuses.updated", {"status_id": status.id})
    return True
