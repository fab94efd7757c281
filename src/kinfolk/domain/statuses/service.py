"""Posting, editing, deleting and boosting statuses: every rule, no SQL beyond the repos.

Every write enqueues its side effects (fan-out, notifications, later federation) in the same
transaction, so a crash between the write and the side effect loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts import repo as accounts_repo
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.instance.languages import known_language
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.media.service import PreparedUpdate
from kinfolk.domain.media.service import apply_update as apply_media_update
from kinfolk.domain.notifications import repo as notifications_repo
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import PollParams, build_poll, validate_poll
from kinfolk.domain.statuses import repo
from kinfolk.domain.statuses.models import VISIBILITIES, IdempotencyKey, Status, StatusEdit
from kinfolk.domain.statuses.store import NewStatus, Posted, store_status
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.visibility import can_see
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Forbidden, NotFound, Unprocessable
from kinfolk.kernel.ids import new_id
from kinfolk.text.compose import (
    exceeds_limit,
    extract_hashtags,
    extract_mentions,
    render_status_html,
)

SCHEDULE_MIN_AHEAD = timedelta(minutes=5)
QUOTE_POLICIES = ("public", "followers", "nobody")
MEDIA_NOT_FOUND = "Media {ids} not found or already attached to another post"
IMAGES_AND_VIDEO = "Cannot attach a video to a post that already contains images"
NOT_ATTACHED = "Validation failed: Media attributes refer to media not attached to this post"


@dataclass
class PostParams:
    text: str = ""
    media_ids: list[int] = field(default_factory=list)
    in_reply_to_id: int | None = None
    sensitive: bool = False
    spoiler_text: str = ""
    visibility: str | None = None
    language: str | None = None
    poll: PollParams | None = None
    quoted_status_id: int | None = None
    quote_approval_policy: str | None = None
    application_id: int | None = None
    # Edits only: per-attachment changes, [{"id": ..., "description": ..., "focus": "x,y"}].
    media_attributes: list[dict[str, Any]] = field(default_factory=list)


class IdempotencyConflict(Exception):
    """Another request with the same Idempotency-Key got there first; re-read its result."""


# Unknown remote handles a post may look up before it is stored (each a WebFinger and a fetch).
MAX_RESOLVED_MENTIONS = 5


def remote_mentions(settings: Settings, text: str) -> list[tuple[str, str]]:
    """The `@user@host` mentions in `text` naming other servers (no database needed). A text
    too long to be posted names none: it will be refused, and is not read (bounded work)."""
    if exceeds_limit(text, settings.max_status_characters):
        return []
    return [(u, d) for u, d in extract_mentions(text) if d is not None and d != settings.domain]


async def unknown_remote_mentions(
    session: AsyncSession, remote: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Those of `remote` naming no account we know, at most `MAX_RESOLVED_MENTIONS`: what the
    API looks up on other servers before the post's unit of work opens, so that the post links
    and notifies them like known accounts."""
    keys = {handle: accounts_repo.acct_key(*handle) for handle in remote}
    known = {a.acct_key for a in await accounts_repo.get_by_acct_keys(session, list(set(keys.values())))}
    return [handle for handle, key in keys.items() if key not in known][:MAX_RESOLVED_MENTIONS]


async def resolve_mentions(
    session: AsyncSession, settings: Settings, text: str
) -> dict[tuple[str, str | None], Account]:
    """Accounts mentioned in `text` that we know; `@user@ourdomain` is local."""
    wanted = {
        (username, domain): accounts_repo.acct_key(
            username, None if domain is None or domain == settings.domain else domain
        )
        for username, domain in extract_mentions(text)
    }
    # One query for all of them: a post's statements do not grow with its mentions.
    by_key = {
        a.acct_key: a for a in await accounts_repo.get_by_acct_keys(session, list(set(wanted.values())))
    }
    return {
        handle: account
        for handle, key in wanted.items()
        if (account := by_key.get(key)) is not None and account.suspended_at is None
    }


async def render_text(
    session: AsyncSession, settings: Settings, text: str
) -> tuple[str, list[Account], list[str]]:
    """HTML, mentioned accounts and hashtag names for a local status's text."""
    mentioned = await resolve_mentions(session, settings, text)

    def resolver(username: str, domain: str | None) -> tuple[str, str] | None:
        account = mentioned.get((username.lower(), domain))
        return (uris.account_page(account), account.username) if account else None

    uris = settings.uris
    content = render_status_html(text, resolve_mention=resolver, tag_url=uris.tag)
    accounts = list({a.id: a for a in mentioned.values()}.values())
    return content, accounts, extract_hashtags(text)


def posting_language(requested: str | None, user: User | None) -> str:
    """Mastodon's cascade: the client's choice, the user's posting default, their locale, English;
    each only if it is an ISO 639 language (an unknown one is skipped, never an error)."""
    settings = (user.settings or {}) if user else {}
    for candidate in (requested, settings.get("default_language"), user.locale if user else None):
        code = known_language(candidate)
        if code is not None:
            return code
    return "en"


def check_length(limit: int, text: str, spoiler_text: str) -> None:
    """Mastodon's length rule (text with URLs as 23, plus the content warning), decided without
    building entities: text that cannot fit is refused unread, and counting stops as soon as
    the part read is over the limit."""
    if len(spoiler_text) > limit or exceeds_limit(text, limit - len(spoiler_text)):
        raise Unprocessable(f"Validation failed: Text character limit of {limit} exceeded")


def _validate_common(settings: Settings, params: PostParams, *, editing: bool = False) -> None:
    if params.visibility is not None and params.visibility not in VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    if not params.text.strip() and not params.media_ids and params.poll is None:
        raise Unprocessable("Validation failed: Text can't be blank")
    check_length(settings.max_status_characters, params.text, params.spoiler_text)
    # A poll may carry media: Mastodon 4.7 accepts both on one status (compat/TRIAGE.md,
    # test_poll_with_media), although earlier versions refused it.
    if len(params.media_ids) > settings.max_media_attachments:
        raise Unprocessable(
            f"Validation failed: Media attachments can't be more than {settings.max_media_attachments}"
        )
    if params.poll is not None:
        validate_poll(params.poll, max_options=settings.max_poll_options)
    if params.quote_approval_policy is not None and params.quote_approval_policy not in QUOTE_POLICIES:
        raise Unprocessable("Validation failed: Quote approval policy is not included in the list")


async def _load_media(
    session: AsyncSession, account: Account, media_ids: list[int], status_id: int | None
) -> list[MediaAttachment]:
    """The author's own media, in the order given, attached to nothing else: neither another
    status nor a scheduled post (Mastodon's rule). Others' media look the same as none."""
    if not media_ids:
        return []
    result = await session.execute(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))
    found = {m.id: m for m in result.scalars()}
    held = await repo.held_media_ids(session, account.id)
    usable = [
        found[i]
        for i in dict.fromkeys(media_ids)
        if i in found
        and found[i].account_id == account.id
        and found[i].status_id in (None, status_id)
        and i not in held
    ]
    if len(usable) != len(dict.fromkeys(media_ids)):
        missing = [str(i) for i in dict.fromkeys(media_ids) if i not in {m.id for m in usable}]
        raise Unprocessable(MEDIA_NOT_FOUND.format(ids=", ".join(missing)))
    # Mastodon's audio_or_video?: a GIF (gifv) sits beside images, a video or a sound alone.
    if len(usable) > 1 and any(m.type in ("video", "audio") for m in usable):
        raise Unprocessable(IMAGES_AND_VIDEO)
    if any(m.state == "failed" for m in usable):
        raise Unprocessable("Validation failed: Media could not be processed and cannot be attached")
    if any(m.state == "processing" for m in usable):
        raise Unprocessable("Validation failed: Media processing is not complete; try again in a moment")
    return usable


async def post_status(
    uow: UnitOfWork,
    settings: Settings,
    account: Account,
    user: User | None,
    params: PostParams,
    *,
    idempotency_key: str | None = None,
    created_at: datetime | None = None,
) -> Posted:
    session = uow.session
    if idempotency_key:
        existing = await repo.find_idempotency(session, account.id, idempotency_key)
        if existing is not None and existing.status_id is not None:
            status = await session.get(Status, existing.status_id)
            if status is not None:
                return Posted(status=status, author=account)
    _validate_common(settings, params)
    thread, quoted = await referenced(session, account, params)

    default_visibility = (user.settings or {}).get("default_privacy", "public") if user else "public"
    visibility = params.visibility or default_visibility
    if thread is not None and params.visibility is None and thread.visibility == "direct":
        visibility = "direct"
    language = posting_language(params.language, user)

    status_id = new_id(int(created_at.timestamp() * 1000)) if created_at else new_id()
    media = await _load_media(session, account, params.media_ids, None)
    content, mentioned, tag_names = await render_text(session, settings, params.text)

    if idempotency_key:
        key_row = IdempotencyKey(account_id=account.id, key=idempotency_key, status_id=status_id)
        session.add(key_row)
        try:
            await session.flush()
        except Exception as exc:  # unique violation: a concurrent request with the same key won
            raise IdempotencyConflict() from exc

    new = NewStatus(
        local=True,
        text=params.text,
        content=content,
        spoiler_text=params.spoiler_text,
        sensitive=params.sensitive,
        visibility=visibility,
        language=language,
        in_reply_to=thread,
        quote_of=quoted,
        quote_policy=params.quote_approval_policy
        or ((user.settings or {}).get("default_quote_policy", "public") if user else "public"),
        created_at=created_at,
        mentions=mentioned,
        tag_names=tag_names,
        media=media,
        poll=params.poll,
        application_id=params.application_id,
        status_id=status_id,
    )
    return await store_status(uow, settings.uris, account, new)


async def referenced(
    session: AsyncSession, account: Account, params: PostParams
) -> tuple[Status | None, Status | None]:
    """The status replied to and the one quoted, each a 404 unless `account` may see it (a
    hidden status looks exactly like one that does not exist). Scheduling checks them too."""
    thread: Status | None = None
    if params.in_reply_to_id is not None:
        thread = await repo.get_status(session, params.in_reply_to_id)
        if thread is None or not await can_see(session, thread, account.id):
            raise NotFound("The post you are trying to reply to does not appear to exist.")
    quoted: Status | None = None
    if params.quoted_status_id is not None:
        quoted = await repo.get_status(session, params.quoted_status_id)
        if quoted is None or not await can_see(session, quoted, account.id):
            raise NotFound("The post you are trying to quote does not appear to exist.")
        if quoted.reblog_of_id is not None or quoted.visibility in ("private", "direct"):
            raise Unprocessable("Validation failed: This post cannot be quoted")
    return thread, quoted


async def reblog(
    uow: UnitOfWork,
    settings: Settings,
    account: Account,
    status_id: int,
    visibility: str | None = None,
    *,
    uri: str | None = None,
) -> Status:
    """Boost a status; a remote account's boost keeps its `Announce` id as `uri`."""
    session = uow.session
    target = await repo.get_status(session, status_id)
    if target is None or not await can_see(session, target, account.id):
        raise NotFound()
    if target.reblog_of_id is not None:
        target = await repo.get_status(session, target.reblog_of_id) or target
    if target.visibility in ("private", "direct") and target.account_id != account.id:
        raise Forbidden("This action is not allowed")
    if target.visibility == "direct":
        raise Forbidden("This action is not allowed")
    existing = await repo.find_reblog(session, account.id, target.id)
    if existing is not None:
        return existing
    if visibility is not None and visibility not in VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    reblog_visibility = visibility or "public"
    if target.visibility == "private":
        reblog_visibility = "private"
    new = NewStatus(
        local=account.is_local,
        uri=uri,
        content="",
        visibility=reblog_visibility if reblog_visibility != "direct" else "public",
        reblog_of=target,
    )
    return (await store_status(uow, settings.uris, account, new)).status


async def unreblog(uow: UnitOfWork, account: Account, status_id: int) -> Status:
    """Undo a boost; returns the (un-boosted) original."""
    session = uow.session
    target = await repo.get_status(session, status_id)
    if target is None or not await can_see(session, target, account.id):
        raise NotFound()
    if target.reblog_of_id is not None:
        target = await repo.get_status(session, target.reblog_of_id) or target
    existing = await repo.find_reblog(session, account.id, target.id)
    if existing is not None:
        await _discard(uow, existing)
        if account.domain is None:
            await outbox.publish(
                uow,
                "Undo",
                {
                    "object_type": "Announce",
                    "status_id": existing.id,
                    "account_id": account.id,
                    "uri": existing.uri,
                    "reblog_of_id": target.id,
                    "visibility": existing.visibility,
                },
            )
    return target


async def remove_boost(uow: UnitOfWork, boost: Status) -> None:
    """A boost goes without telling anyone: its booster's account is being deleted (an
    undone boost of a local account goes through `unreblog`, which publishes its `Undo`)."""
    if boost.reblog_of_id is not None and boost.deleted_at is None:
        await _discard(uow, boost)


async def _discard(uow: UnitOfWork, status: Status) -> None:
    """Mark a status deleted, fix counters, and enqueue its removal from feeds and streams."""
    session = uow.session
    status.deleted_at = utcnow()
    await repo.bump_account_statuses(session, status.account_id, -1, touch=False)
    if status.reblog_of_id is not None:
        await repo.bump_status_stat(session, status.reblog_of_id, "reblogs_count", -1)
        await notifications_repo.remove_notifications(
            session, type_="reblog", from_account_id=status.account_id, status_id=status.reblog_of_id
        )
    if status.in_reply_to_id is not None:
        await repo.bump_status_stat(session, status.in_reply_to_id, "replies_count", -1)
    if status.quote_of_id is not None:
        await repo.bump_status_stat(session, status.quote_of_id, "quotes_count", -1)
    await session.flush()
    await uow.enqueue("statuses.removed", {"status_id": status.id, "account_id": status.account_id})


async def delete_status(
    uow: UnitOfWork, account: Account, status_id: int, *, delete_media: bool = False, federate: bool = True
) -> Status:
    """Delete one of the account's own statuses with its boosts. `federate=False` when the
    whole account goes: its one actor `Delete` tells other servers, not one per status."""
    session = uow.session
    status = await repo.get_status(session, status_id)
    # Someone else's status is not found, as Mastodon looks it up among the caller's own only:
    # a 403 would tell that a hidden status exists.
    if status is None or status.reblog_of_id is not None or status.account_id != account.id:
        raise NotFound()
    # Boosts of a deleted status go with it.
    reblogs = (
        await session.execute(
            select(Status).where(Status.reblog_of_id == status.id, Status.deleted_at.is_(None))
        )
    ).scalars()
    for boost in list(reblogs):
        await _discard(uow, boost)
    await _discard(uow, status)
    if account.domain is None and federate:
        # What the recipients are planned from, in case the rows go before the job runs.
        await outbox.publish(
            uow,
            "Delete",
            {
                "status_id": status.id,
                "account_id": account.id,
                "uri": status.uri,
                "visibility": status.visibility,
                "mentioned_ids": await outbox.remote_mentions(session, status.id),
            },
        )
    if delete_media:
        # Nothing is kept to redraft with; the files go by a job once this commits.
        media = list(
            (
                await session.execute(select(MediaAttachment).where(MediaAttachment.status_id == status.id))
            ).scalars()
        )
        keys = [k for m in media for k in (m.file_key, m.preview_key, m.thumbnail_key, m.original_key) if k]
        for item in media:
            await session.delete(item)
        if keys:
            await uow.enqueue("media.remove_files", {"keys": keys})
    else:
        await session.execute(
            update(MediaAttachment).where(MediaAttachment.status_id == status.id).values(status_id=None)
        )
    return status


async def edit_status(
    uow: UnitOfWork,
    settings: Settings,
    account: Account,
    status_id: int,
    params: PostParams,
    *,
    thumbnails: dict[int, PreparedUpdate] | None = None,
) -> Status:
    """Edit text, media and poll. `thumbnails` are new thumbnails for attached media, already
    processed and stored by the caller (outside the transaction), applied here."""
    session = uow.session
    status = await repo.get_status(session, status_id)
    # Someone else's status is not found, as Mastodon looks it up among the caller's own only:
    # a 403 would tell that a hidden status exists.
    if status is None or status.reblog_of_id is not None or status.account_id != account.id:
        raise NotFound()
    _validate_common(settings, params, editing=True)
    media = await _load_media(session, account, params.media_ids, status.id)
    edits = await repo.edits_for(session, status.id)
    current_media = (
        await session.execute(
            select(MediaAttachment.id)
            .where(MediaAttachment.status_id == status.id)
            .order_by(MediaAttachment.position)
        )
    ).scalars()
    current_media_ids = list(current_media)
    poll = await session.get(Poll, status.poll_id) if status.poll_id else None
    if not edits:
        session.add(
            StatusEdit(
                status_id=status.id,
                account_id=account.id,
                text=status.text,
                content=status.content,
                spoiler_text=status.spoiler_text,
                sensitive=status.sensitive,
                media_attachment_ids=current_media_ids,
                poll_options=list(poll.options) if poll else None,
                created_at=status.created_at,
            )
        )
    content, mentioned, tag_names = await render_text(session, settings, params.text)
    status.text = params.text
    status.content = content
    status.spoiler_text = params.spoiler_text
    status.sensitive = params.sensitive or bool(params.spoiler_text)
    if known_language(params.language):
        status.language = known_language(params.language)
    status.edited_at = utcnow()
    # Media: detach what is gone, attach what is new, in the order given.
    keep = {m.id for m in media}
    await session.execute(
        update(MediaAttachment)
        .where(MediaAttachment.status_id == status.id, MediaAttachment.id.not_in(list(keep) or [0]))
        .values(status_id=None)
    )
    for position, item in enumerate(media):
        item.status_id = status.id
        item.position = position
    _apply_media_attributes(media, params.media_attributes)
    by_id = {m.id: m for m in media}
    for media_id, prepared in (thumbnails or {}).items():
        if media_id not in by_id:
            raise Unprocessable(
                "Validation failed: Media attributes refer to media not attached to this post"
            )
        await apply_media_update(uow, by_id[media_id], prepared)
    # Poll: changing the options resets the votes, as Mastodon does.
    if params.poll is not None:
        new_options = [o.strip() for o in params.poll.options]
        if poll is None or list(poll.options) != new_options or poll.multiple != params.poll.multiple:
            if poll is not None:
                await session.delete(poll)
                await session.flush()
            fresh = build_poll(account.id, params.poll)
            fresh.status_id = status.id
            session.add(fresh)
            await session.flush()
            status.poll_id = fresh.id
    elif poll is not None:
        await session.delete(poll)
        status.poll_id = None
    await repo.replace_mentions(session, status.id, [a.id for a in mentioned])
    tags = await tags_repo.get_or_create_tags(session, tag_names)
    await tags_repo.set_status_tags(session, status.id, account.id, True, tags, status.edited_at)
    session.add(
        StatusEdit(
            status_id=status.id,
            account_id=account.id,
            text=status.text,
            content=status.content,
            spoiler_text=status.spoiler_text,
            sensitive=status.sensitive,
            media_attachment_ids=[m.id for m in media],
            poll_options=[o.strip() for o in params.poll.options] if params.poll else None,
            created_at=status.edited_at,
        )
    )
    await session.flush()
    await uow.enqueue("statuses.updated", {"status_id": status.id})
    return status


def _apply_media_attributes(media: list[MediaAttachment], attributes: list[dict[str, Any]]) -> None:
    """Descriptions and focal points edited together with the status (Mastodon 4.1+)."""
    by_id = {m.id: m for m in media}
    for attrs in attributes:
        try:
            item = by_id.get(int(str(attrs.get("id", "")).strip()))
        except ValueError:
            item = None
        if item is None:
            raise Unprocessable(
                "Validation failed: Media attributes refer to media not attached to this post"
            )
        if "description" in attrs:
            description = str(attrs["description"] or "")
            if len(description) > 1500:
                raise Unprocessable("Validation failed: Description is too long (maximum is 1500 characters)")
            item.description = description
        if attrs.get("focus"):
            try:
                x, y = (float(v) for v in str(attrs["focus"]).split(","))
            except ValueError as exc:
                raise Unprocessable("Validation failed: Focus is invalid") from exc
            if not (-1 <= x <= 1 and -1 <= y <= 1):
                raise Unprocessable("Validation failed: Focus is invalid")
            item.focus_x, item.focus_y = x, y
