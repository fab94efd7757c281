"""The Status entity, rendered for a page of statuses in a fixed number of queries.

Whatever a page holds (boosts, quotes, media, polls, mentions), rendering loads each kind of
related row once for the whole page: that is what keeps timelines free of N+1 queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import account_emojis, account_json, render_accounts
from kinfolk.api.entities.custom_emoji import emojis_json
from kinfolk.api.entities.filter import render_filter_result
from kinfolk.api.entities.media_attachment import render_media
from kinfolk.api.entities.poll import render_poll
from kinfolk.api.entities.preview_card import render_card
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.domain.emojis.service import emojis_for_texts, status_text
from kinfolk.domain.filters.apply import FilterMatch
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.oauth.models import Application
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import own_votes
from kinfolk.domain.statuses.models import (
    Bookmark,
    ConversationMute,
    Favourite,
    Mention,
    Status,
    StatusEdit,
    StatusPin,
    StatusStats,
)
from kinfolk.domain.statuses.service import Posted
from kinfolk.domain.tags.repo import tags_for_statuses
from kinfolk.infra.storage import Storage
from kinfolk.kernel.clock import iso


@dataclass
class _Loaded:
    statuses: dict[int, Status] = field(default_factory=dict)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    stats: dict[int, StatusStats] = field(default_factory=dict)
    media: dict[int, list[MediaAttachment]] = field(default_factory=dict)
    polls: dict[int, Poll] = field(default_factory=dict)
    votes: dict[int, list[int]] = field(default_factory=dict)
    mentions: dict[int, list[Account]] = field(default_factory=dict)
    tags: dict[int, list[Any]] = field(default_factory=dict)
    apps: dict[int, Application] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    muted_conversations: set[int] = field(default_factory=set)
    filtered: dict[int, list[FilterMatch]] = field(default_factory=dict)
    emojis: dict[int, list[CustomEmoji]] = field(default_factory=dict)
    cards: dict[int, PreviewCard] = field(default_factory=dict)


async def _load_emojis(session: AsyncSession, loaded: _Loaded, domains: dict[int, str | None]) -> None:
    """The custom emojis of every status loaded, in one query; `domains` maps author ids to
    their domains (None: ours)."""
    statuses = [s for s in loaded.statuses.values() if s.account_id in domains]
    texts = []
    for s in statuses:
        poll = loaded.polls.get(s.poll_id) if s.poll_id else None
        texts.append((domains[s.account_id], status_text(s.spoiler_text, s.content, _options(poll))))
    for status, found in zip(statuses, await emojis_for_texts(session, texts), strict=True):
        if found:
            loaded.emojis[status.id] = found


def _options(poll: Poll | None) -> list[str] | None:
    return [str(o) for o in poll.options or []] if poll else None


async def _load(
    session: AsyncSession, container: Container, statuses: list[Status], viewer_id: int | None
) -> _Loaded:
    loaded = _Loaded(statuses={s.id: s for s in statuses})
    inner_ids = {s.reblog_of_id for s in statuses if s.reblog_of_id} | {
        s.quote_of_id for s in statuses if s.quote_of_id
    }
    inner_ids -= set(loaded.statuses)
    if inner_ids:
        result = await session.execute(select(Status).where(Status.id.in_(inner_ids)))
        inner = list(result.scalars())
        # Quotes inside boosts: one more level, still one query.
        second = {s.quote_of_id for s in inner if s.quote_of_id and s.quote_of_id not in loaded.statuses}
        for s in inner:
            loaded.statuses[s.id] = s
        second -= set(loaded.statuses)
        if second:
            for s in (await session.execute(select(Status).where(Status.id.in_(second)))).scalars():
                loaded.statuses[s.id] = s
    ids = list(loaded.statuses)

    mention_rows = (
        await session.execute(
            select(Mention.status_id, Account)
            .join(Account, Account.id == Mention.account_id)
            .where(Mention.status_id.in_(ids))
            .order_by(Mention.id)
        )
    ).all()
    for status_id, account in mention_rows:
        loaded.mentions.setdefault(status_id, []).append(account)

    author_ids = {s.account_id for s in loaded.statuses.values()}
    authors = (await session.execute(select(Account).where(Account.id.in_(author_ids)))).scalars()
    author_list = list(authors)
    rendered = await render_accounts(session, author_list, container)
    loaded.accounts = {a.id: r for a, r in zip(author_list, rendered, strict=True)}

    for row in (await session.execute(select(StatusStats).where(StatusStats.status_id.in_(ids)))).scalars():
        loaded.stats[row.status_id] = row
    media_rows = (
        await session.execute(
            select(MediaAttachment)
            .where(MediaAttachment.status_id.in_(ids))
            .order_by(MediaAttachment.position)
        )
    ).scalars()
    for media in media_rows:
        assert media.status_id is not None
        loaded.media.setdefault(media.status_id, []).append(media)
    poll_ids = [s.poll_id for s in loaded.statuses.values() if s.poll_id]
    if poll_ids:
        for poll in (await session.execute(select(Poll).where(Poll.id.in_(poll_ids)))).scalars():
            loaded.polls[poll.id] = poll
        if viewer_id is not None:
            loaded.votes = await own_votes(session, viewer_id, poll_ids)
    loaded.tags = await tags_for_statuses(session, ids)
    card_rows = await session.execute(
        select(StatusPreviewCard.status_id, PreviewCard)
        .join(PreviewCard, PreviewCard.id == StatusPreviewCard.card_id)
        .where(StatusPreviewCard.status_id.in_(ids))
    )
    loaded.cards = {status_id: card for status_id, card in card_rows.all()}
    app_ids = {s.application_id for s in loaded.statuses.values() if s.application_id}
    if app_ids:
        for app in (await session.execute(select(Application).where(Application.id.in_(app_ids)))).scalars():
            loaded.apps[app.id] = app

    await _load_emojis(session, loaded, {a.id: a.domain for a in author_list})
    if viewer_id is not None:
        await _load_flags(session, loaded, viewer_id, ids)
    return loaded


async def _load_flags(session: AsyncSession, loaded: _Loaded, viewer_id: int, ids: list[int]) -> None:
    """The viewer's favourites, bookmarks, pins, boosts and muted threads among the page's
    statuses, in one statement."""
    parts: list[Any] = [
        select(literal("f"), Favourite.status_id).where(
            Favourite.account_id == viewer_id, Favourite.status_id.in_(ids)
        ),
        select(literal("b"), Bookmark.status_id).where(
            Bookmark.account_id == viewer_id, Bookmark.status_id.in_(ids)
        ),
        select(literal("p"), StatusPin.status_id).where(
            StatusPin.account_id == viewer_id, StatusPin.status_id.in_(ids)
        ),
        select(literal("r"), Status.reblog_of_id).where(
            Status.account_id == viewer_id, Status.reblog_of_id.in_(ids), Status.deleted_at.is_(None)
        ),
    ]
    conversation_ids = {s.conversation_id for s in loaded.statuses.values() if s.conversation_id}
    if conversation_ids:
        parts.append(
            select(literal("m"), ConversationMute.conversation_id).where(
                ConversationMute.account_id == viewer_id,
                ConversationMute.conversation_id.in_(conversation_ids),
            )
        )
    targets = {
        "f": loaded.favourited,
        "b": loaded.bookmarked,
        "p": loaded.pinned,
        "r": loaded.reblogged,
        "m": loaded.muted_conversations,
    }
    for kind, target_id in (await session.execute(union_all(*parts))).all():
        if target_id is not None:
            targets[kind].add(target_id)


def _render_one(
    status: Status,
    loaded: _Loaded,
    settings: Settings,
    storage: Storage,
    viewer_id: int | None,
    *,
    depth: int = 0,
) -> dict[str, Any]:
    stats = loaded.stats.get(status.id)
    account = loaded.accounts.get(status.account_id)
    reblog: dict[str, Any] | None = None
    if status.reblog_of_id is not None:
        inner = loaded.statuses.get(status.reblog_of_id)
        reblog = _render_one(inner, loaded, settings, storage, viewer_id, depth=depth) if inner else None
    quote: dict[str, Any] | None = None
    if status.quote_of_id is not None:
        inner = loaded.statuses.get(status.quote_of_id)
        state = status.quote_state or "accepted"
        if inner is None or inner.deleted_at is not None:
            quote = {"state": "deleted", "quoted_status": None}
        elif depth >= 1:
            quote = {"state": state, "quoted_status_id": str(inner.id)}
        else:
            quote = {
                "state": state,
                "quoted_status": _render_one(inner, loaded, settings, storage, viewer_id, depth=1),
            }
    poll = loaded.polls.get(status.poll_id) if status.poll_id else None
    app = loaded.apps.get(status.application_id) if status.application_id else None
    uris = settings.uris
    body: dict[str, Any] = {
        "id": str(status.id),
        "created_at": iso(status.created_at),
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": str(status.in_reply_to_account_id)
        if status.in_reply_to_account_id
        else None,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "visibility": status.visibility,
        "language": status.language,
        "uri": status.uri,
        "url": status.url or status.uri,  # as Mastodon: a post without a page links to its id
        "replies_count": stats.replies_count if stats else 0,
        "reblogs_count": stats.reblogs_count if stats else 0,
        "favourites_count": stats.favourites_count if stats else 0,
        "quotes_count": stats.quotes_count if stats else 0,
        "edited_at": iso(status.edited_at),
        "content": status.content,
        "reblog": reblog,
        "application": {"name": app.name, "website": app.website}
        if app and status.account_id == viewer_id
        else None,
        "account": account,
        "media_attachments": [render_media(storage, m) for m in loaded.media.get(status.id, [])],
        "mentions": [
            {
                "id": str(a.id),
                "username": a.username,
                "url": uris.account_page(a),
                "acct": a.acct,
            }
            for a in loaded.mentions.get(status.id, [])
        ],
        "tags": [{"name": t.name, "url": uris.tag(t.name)} for t in loaded.tags.get(status.id, [])],
        "emojis": emojis_json(storage, loaded.emojis.get(status.id, [])),
        "card": render_card(storage, loaded.cards.get(status.id)),
        "poll": render_poll(
            poll,
            loaded.votes.get(poll.id, []) if viewer_id is not None else None,
            is_owner=poll.account_id == viewer_id,
        )
        if poll
        else None,
        "quote": quote,
        "quote_approval": quote_approval(status, viewer_id),
        "filtered": [
            render_filter_result(m.filter, m.keyword_matches, m.status_matches)
            for m in loaded.filtered.get(status.id, [])
        ],
    }
    if viewer_id is not None:
        body["favourited"] = status.id in loaded.favourited
        body["reblogged"] = status.id in loaded.reblogged
        body["muted"] = status.conversation_id in loaded.muted_conversations
        body["bookmarked"] = status.id in loaded.bookmarked
        if status.account_id == viewer_id and pinnable(status):
            body["pinned"] = status.id in loaded.pinned
    return body


def pinnable(status: Status) -> bool:
    """Whether a status could be pinned, so that its author is shown `pinned` (as Mastodon: not
    a boost, and not a direct message, which a profile never shows)."""
    return status.reblog_of_id is None and status.visibility in ("public", "unlisted", "private")


def quote_approval(status: Status, viewer_id: int | None) -> dict[str, Any]:
    automatic = {"public": ["public"], "followers": ["followers"], "nobody": []}.get(status.quote_policy, [])
    if status.visibility in ("private", "direct"):
        automatic = []
    if viewer_id is None:
        current = "unknown"
    elif viewer_id == status.account_id:
        current = "automatic"
    else:
        current = "automatic" if automatic == ["public"] else "denied"
    return {"automatic": automatic, "manual": [], "current_user": current}


async def render_statuses(
    session: AsyncSession,
    container: Container,
    statuses: list[Status],
    viewer_id: int | None,
    *,
    filters: dict[int, list[FilterMatch]] | None = None,
) -> list[dict[str, Any]]:
    if not statuses:
        return []
    loaded = await _load(session, container, statuses, viewer_id)
    if filters:
        loaded.filtered = filters
    return [_render_one(s, loaded, container.settings, container.storage, viewer_id) for s in statuses]


async def render_status(
    session: AsyncSession, container: Container, status: Status, viewer_id: int | None
) -> dict[str, Any]:
    return (await render_statuses(session, container, [status], viewer_id))[0]


async def render_posted(
    session: AsyncSession,
    container: Container,
    posted: Posted,
    application: Application | None,
    user: User | None = None,
) -> dict[str, Any]:
    """A status just posted, for its author, from the rows the post made: nothing of it is read
    back (a post's response otherwise cost as many statements as its creation, bench/RESULTS.md,
    G2). A quote renders the quoted status, which is not in hand: that takes the full path."""
    status = posted.status
    viewer_id = status.account_id
    if not posted.fresh or status.quote_of_id is not None:
        return await render_status(session, container, status, viewer_id)
    loaded = _Loaded(statuses={status.id: status})
    if posted.author_stats is not None and user is not None and user.account_id == viewer_id:
        # The author's counters came back from the post's own update, and the user is the
        # request's: nothing of the author is read again.
        emojis = (await account_emojis(session, [posted.author]))[0]
        loaded.accounts = {
            viewer_id: account_json(posted.author, posted.author_stats, user, container, emojis)
        }
    else:
        loaded.accounts = {viewer_id: (await render_accounts(session, [posted.author], container))[0]}
    if posted.stats is not None:
        loaded.stats[status.id] = posted.stats
    if posted.media:
        loaded.media[status.id] = sorted(posted.media, key=lambda m: m.position)
    if posted.poll is not None:
        loaded.polls[posted.poll.id] = posted.poll
    if posted.mentioned:
        loaded.mentions[status.id] = posted.mentioned
    if posted.tags:
        loaded.tags[status.id] = sorted(posted.tags, key=lambda t: t.id)
    if application is not None and application.id == status.application_id:
        loaded.apps[application.id] = application
    await _load_emojis(session, loaded, {posted.author.id: posted.author.domain})
    if posted.thread is not None:
        # A reply joins its thread, which its author may have muted; nothing else can be set
        # on a status that did not exist a moment ago.
        await _load_flags(session, loaded, viewer_id, [status.id])
    return _render_one(status, loaded, container.settings, container.storage, viewer_id)


async def render_history(
    session: AsyncSession, container: Container, status: Status, edits: list[StatusEdit]
) -> list[dict[str, Any]]:
    """Revisions oldest first; a status never edited has its current version as its only entry."""
    account = await session.get(Account, status.account_id)
    assert account is not None
    account_body = (await render_accounts(session, [account], container))[0]
    media_ids = {i for e in edits for i in e.media_attachment_ids or []}
    media: dict[int, MediaAttachment] = {}
    if media_ids:
        for m in (
            await session.execute(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))
        ).scalars():
            media[m.id] = m
    if not edits:
        current = (
            await session.execute(
                select(MediaAttachment)
                .where(MediaAttachment.status_id == status.id)
                .order_by(MediaAttachment.position)
            )
        ).scalars()
        poll = await session.get(Poll, status.poll_id) if status.poll_id else None
        options = _options(poll)
        emojis = await emojis_for_texts(
            session, [(account.domain, status_text(status.spoiler_text, status.content, options))]
        )
        return [
            _edit_json(
                container,
                account_body,
                status.content,
                status.spoiler_text,
                status.sensitive,
                status.created_at,
                list(current),
                options,
                emojis[0],
            )
        ]
    # Each revision shows the emojis its own text used.
    emojis = await emojis_for_texts(
        session, [(account.domain, status_text(e.spoiler_text, e.content, e.poll_options)) for e in edits]
    )
    return [
        _edit_json(
            container,
            account_body,
            e.content,
            e.spoiler_text,
            e.sensitive,
            e.created_at,
            [media[i] for i in e.media_attachment_ids or [] if i in media],
            e.poll_options,
            found,
        )
        for e, found in zip(edits, emojis, strict=True)
    ]


def _edit_json(
    container: Container,
    account: dict[str, Any],
    content: str,
    spoiler_text: str,
    sensitive: bool,
    created_at: Any,
    media: list[MediaAttachment],
    poll_options: list[str] | None,
    emojis: list[CustomEmoji],
) -> dict[str, Any]:
    return {
        "content": content,
        "spoiler_text": spoiler_text,
        "sensitive": sensitive,
        "created_at": iso(created_at),
        "account": account,
        "poll": {"options": [{"title": o} for o in poll_options]} if poll_options else None,
        "media_attachments": [render_media(container.storage, m) for m in media],
        "emojis": emojis_json(container.storage, emojis),
    }
