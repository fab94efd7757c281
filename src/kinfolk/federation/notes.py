"""A remote post (a parsed Note, Article, Question, ...) as a status in the one store.

Everything here runs inside the caller's unit of work and touches no network: the author, the
parent and anything else worth fetching were fetched before (`dereference.py`). Mapping follows
Mastodon:

- visibility from the audience: the Public collection in `to` is public, in `cc` unlisted; the
  author's followers collection is private (followers only); anything else is direct;
- content is sanitised to Mastodon's allow-list (`text/sanitize.py`); a post declaring another
  `mediaType` (Markdown, plain text) is shown as escaped text, never interpreted;
- mentions of our own accounts are found by their actor ids (`Uris.parse_actor`), so they are
  notified; remote mentions only when the account is known already (no fetch from here);
  audience entries naming our accounts mention them too (how a direct message reaches them);
- hashtags become tags; custom emojis are kept per (shortcode, author's domain)
  (`domain/emojis/service.store_remote_emojis`, which queues their pictures' copies);
- attachments become remote media rows (`domain/media/remote.add_remote_media`, which queues
  the copy), none from a server whose media we reject, none for a `Link` (not a file);
- polls keep their options, end (`endTime`, or `closed` once closed), each option's
  `replies.totalItems` and `votersCount` (`polls.service.RemotePollState`); the author's later
  `Update`s replace the counts, even without an edit (Mastodon's implicit update).

A post that would show nothing (no text, no media, no poll: a poll vote is such a Note) is not
stored. Idempotent by id: a status already stored is returned as it is; a tombstoned id stores
nothing (checklist 79); an id held by another author stores nothing (checklist 32).
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, bindparam, or_, select

from kinfolk.db.database import UnitOfWork
from kinfolk.db.prepared import Prepared, run_in
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.emojis.service import store_remote_emojis
from kinfolk.domain.instance.languages import known_language
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.media.remote import add_remote_media
from kinfolk.domain.moderation.domain_blocks import policy_for
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import (
    PollParams,
    RemotePollState,
    apply_remote_state,
    replace_remote_options,
)
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.domain.statuses.store import (
    MAX_MENTIONS,
    MAX_TAGS,
    NewStatus,
    check_new_status,
    edit_remote_status,
    store_remote_status,
)
from kinfolk.federation.actors import remote_emojis
from kinfolk.federation.parse.object import ParsedAttachment, ParsedNote, ParsedPoll
from kinfolk.federation.parse.values import host
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable
from kinfolk.text.sanitize import sanitize_html

if TYPE_CHECKING:
    from kinfolk.container import Container

PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
HTML_TYPES = frozenset({None, "text/html"})
MAX_TAG_NAME = 100
MAX_POLL_OPTIONS = 20
MAX_POLL_SECONDS = 366 * 24 * 3600
_TAG_NAME = re.compile(r"^[\w·]+$")


def visibility_of(parsed: ParsedNote, author: Account) -> str:
    """Mastodon's reading of `to`/`cc`: public, unlisted, private (followers) or direct."""
    if any(entry in PUBLIC for entry in parsed.to):
        return "public"
    if any(entry in PUBLIC for entry in parsed.cc):
        return "unlisted"
    followers = author.followers_url
    if followers and (followers in parsed.to or followers in parsed.cc):
        return "private"
    return "direct"


def content_of(parsed: ParsedNote) -> str:
    """Safe HTML for the post's content: sanitised HTML, or another media type escaped."""
    content = parsed.content or ""
    if (parsed.media_type or None) in HTML_TYPES:
        return sanitize_html(content)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", content.replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def tag_names(parsed: ParsedNote) -> list[str]:
    names: dict[str, str] = {}
    for tag in parsed.hashtags:
        name = tag.name.lstrip("#").strip()
        if name and len(name) <= MAX_TAG_NAME and _TAG_NAME.match(name):
            names.setdefault(name.lower(), name)
    return list(names.values())[:MAX_TAGS]


async def mentioned_accounts(container: Container, uow: UnitOfWork, parsed: ParsedNote) -> list[Account]:
    """Accounts the post mentions: ours by actor id (and by audience), others only if known."""
    uris = container.uris
    hrefs = list(dict.fromkeys(m.href for m in parsed.mentions))[:MAX_MENTIONS]
    audience = [a for a in dict.fromkeys((*parsed.to, *parsed.cc)) if uris.is_local(a)][:MAX_MENTIONS]
    local_names = {
        name.lower() for href in (*hrefs, *audience) if (name := uris.parse_actor(href)) is not None
    }
    remote = [href for href in hrefs if not uris.is_local(href)]
    if not local_names and not remote:
        return []
    conditions = []
    if local_names:
        conditions.append(Account.acct_key.in_([f"{name}@" for name in local_names]))
    if remote:
        conditions.append(Account.uri.in_(remote))
    rows = (await uow.session.execute(select(Account).where(or_(*conditions)))).scalars()
    return [a for a in rows if a.suspended_at is None][:MAX_MENTIONS]


def _media_kind(item: ParsedAttachment) -> str:
    mime = (item.media_type or "").split("/", 1)[0].lower()
    if mime in ("image", "video", "audio"):
        return mime
    kind = (item.type or "").lower()
    return kind if kind in ("image", "video", "audio") else "unknown"


async def _rejects_media(uow: UnitOfWork, author: Account) -> bool:
    """A block on the author's handle domain or on the host serving the actor rejects media."""
    for domain in dict.fromkeys((author.domain, host(author.uri))):
        if domain is not None and (await policy_for(uow.session, domain)).reject_media:
            return True
    return False


async def _media(
    container: Container, uow: UnitOfWork, author: Account, parsed: ParsedNote
) -> list[MediaAttachment]:
    """The post's media rows. A `Link` attachment is not media (Lemmy's shared link, shown in
    the text instead): as Mastodon, only attachments with a file `url` are."""
    media = [item for item in parsed.attachments if item.type != "Link"]
    if not media:
        return []
    if await _rejects_media(uow, author):
        return []
    return [
        await add_remote_media(
            uow,
            container.settings,
            account_id=author.id,
            remote_url=item.url,
            media_type=_media_kind(item),
            description=item.description,
            blurhash=item.blurhash,
            focus=item.focal_point,
            position=position,
        )
        for position, item in enumerate(media)
    ]


def poll_state(poll: ParsedPoll) -> RemotePollState:
    """The origin's end and counts. A closed poll ended when it says (`closed`), else at its
    `endTime`, else now; an open one ends at `endTime` (none: never), within a year."""
    now = utcnow()
    end = poll.end_time
    if poll.is_closed:
        end = min(poll.closed or end or now, now)
    elif end is not None:
        end = min(end, now + timedelta(seconds=MAX_POLL_SECONDS))
    options = poll.options[:MAX_POLL_OPTIONS]
    return RemotePollState(
        expires_at=end,
        tallies=tuple(o.votes or 0 for o in options),
        voters_count=poll.voters_count,
    )


def _poll(parsed: ParsedNote) -> PollParams | None:
    poll = parsed.poll
    if poll is None or len(poll.options) < 1:
        return None
    return PollParams(
        options=[o.name for o in poll.options[:MAX_POLL_OPTIONS]],
        multiple=poll.multiple,
        remote=poll_state(poll),
    )


async def update_poll(uow: UnitOfWork, status: Status, parsed: ParsedNote, *, edited: bool) -> bool:
    """Bring a stored remote poll to what its author's `Update` says: the counts and the end
    always; other options only with an edit (`edited`: the document is a newer version), which
    drops the votes cast on the old ones. Returns whether the poll changed."""
    params = _poll(parsed)
    if status.poll_id is None or params is None or params.remote is None:
        return False
    poll = await uow.session.get(Poll, status.poll_id, with_for_update=True)
    if poll is None:
        return False
    changed = False
    if list(poll.options or []) != params.options or poll.multiple != params.multiple:
        if not edited:
            return False
        await replace_remote_options(uow.session, poll, params.options, params.multiple)
        changed = True
    changed = apply_remote_state(poll, params.remote) or changed
    if changed:
        await uow.session.flush()
    return changed


async def _parent(container: Container, uow: UnitOfWork, uri: str) -> Status | None:
    named = container.uris.parse_status(uri) if container.uris.is_local(uri) else None
    if named is not None:
        return await uow.session.get(Status, named[1])
    found: Status | None = (
        await uow.session.execute(select(Status).where(Status.uri == uri))
    ).scalar_one_or_none()
    return found


async def new_status(
    container: Container,
    uow: UnitOfWork,
    author: Account,
    parsed: ParsedNote,
    *,
    in_reply_to: Status | None = None,
) -> NewStatus:
    """The `NewStatus` a parsed post stores as, without its media (`add_media` adds them once
    the store's checks passed, so a refused post leaves no media rows behind)."""
    now = utcnow()
    published = parsed.published if parsed.published is not None and parsed.published <= now else now
    updated = parsed.updated if parsed.updated is not None and parsed.updated > published else None
    if updated is not None and updated > now + timedelta(minutes=5):
        updated = now
    parent = in_reply_to
    if parent is None and parsed.in_reply_to is not None:
        parent = await _parent(container, uow, parsed.in_reply_to)
    if parent is not None and parent.deleted_at is not None:
        parent = None
    return NewStatus(
        local=False,
        uri=parsed.id,
        url=parsed.url,
        content=content_of(parsed),
        spoiler_text=parsed.summary or "",
        visibility=visibility_of(parsed, author),
        sensitive=parsed.sensitive,
        language=known_language(parsed.language),
        in_reply_to=parent,
        created_at=published,
        edited_at=updated,
        mentions=await mentioned_accounts(container, uow, parsed),
        tag_names=tag_names(parsed),
        poll=_poll(parsed),
    )


# Asked for every remote post stored: a prepared statement, not an ORM load (bench G3.processed).
_TOMBSTONED = Prepared(select(Tombstone.uri).where(Tombstone.uri == bindparam("uri", type_=String())))


async def is_tombstoned(uow: UnitOfWork, uri: str) -> bool:
    return bool(await run_in(uow.session, _TOMBSTONED, {"uri": uri}))


_TAG = re.compile(r"<[^<>]*>")


def _empty(new: NewStatus, parsed: ParsedNote) -> bool:
    """Whether the post would show nothing: no text, no content warning, no media, no poll (a
    poll vote sent as a Note with only a `name` is one). Never stored as an empty post."""
    if new.poll is not None or new.spoiler_text.strip():
        return False
    if any(item.type != "Link" for item in parsed.attachments):
        return False
    return not html.unescape(_TAG.sub("", new.content)).strip()


async def ingest_note(
    container: Container,
    uow: UnitOfWork,
    author: Account,
    parsed: ParsedNote,
    *,
    in_reply_to: Status | None = None,
    quiet: bool = False,
) -> Status | None:
    """Store `parsed` (already checked to be `author`'s, from its origin) once. Returns the
    stored status (new or the one already there), or None when it is refused: tombstoned,
    another author's id, or data the store will not take. `quiet`: fetched, not delivered
    (a thread's or a profile's backfill), so no feed, stream or notification hears of it."""
    if author.domain is None or parsed.attributed_to != author.uri:
        return None
    session = uow.session
    existing = (await session.execute(select(Status).where(Status.uri == parsed.id))).scalar_one_or_none()
    if existing is not None:
        return existing if existing.account_id == author.id else None
    if await is_tombstoned(uow, parsed.id):
        return None
    new = await new_status(container, uow, author, parsed, in_reply_to=in_reply_to)
    new.quiet = quiet
    if _empty(new, parsed):
        return None
    try:
        check_new_status(author, new)
    except Unprocessable:
        return None
    new.media = await _media(container, uow, author, parsed)
    await store_remote_emojis(uow, author.domain, remote_emojis(parsed.emojis))
    posted = await store_remote_status(uow, container.uris, author, new, known_new=True)
    return posted.status


async def apply_update(
    container: Container, uow: UnitOfWork, author: Account, parsed: ParsedNote
) -> Status | None:
    """A remote `Update` of a post: only its author's (checklist 24), only when newer than what
    is stored (checklist 80), recorded as an edit with history. Unknown posts are not created
    (Mastodon does not either). Returns the status when it changed."""
    status = (await uow.session.execute(select(Status).where(Status.uri == parsed.id))).scalar_one_or_none()
    if status is None or status.account_id != author.id or status.deleted_at is not None:
        return None
    if parsed.attributed_to != author.uri:
        return None
    # As Mastodon: an edit needs `updated`, and must be newer than the last edit we hold; the
    # first edit is taken even in the second the post was published (timestamps are whole seconds).
    if parsed.updated is None or (status.edited_at is not None and parsed.updated <= status.edited_at):
        # Not an edit, but maybe a poll's new counts (Mastodon's implicit update): applied
        # quietly (no edit, no notification); readers see them through the poll's stamp.
        last_edit = status.edited_at
        older = last_edit is not None and parsed.updated is not None and parsed.updated < last_edit
        if not older:
            await update_poll(uow, status, parsed, edited=False)
        return None
    new = await new_status(container, uow, author, parsed, in_reply_to=None)
    new.edited_at = max(min(parsed.updated, utcnow()), status.created_at)
    try:
        check_new_status(author, new)
    except Unprocessable:
        return None
    new.media = await _media(container, uow, author, parsed)
    assert author.domain is not None
    await store_remote_emojis(uow, author.domain, remote_emojis(parsed.emojis))
    changed = await edit_remote_status(uow, status, author, new)
    if changed:
        await update_poll(uow, status, parsed, edited=True)
    return status if changed else None
