"""Custom emojis: remote ones kept from `Emoji` tags, and the emojis a text shows.

Storing (`store_remote_emojis`, in the caller's unit of work, no network): the tags of a remote
post or actor, already parsed (shortcode letters, digits and `_`, at least two; http(s) picture;
at most `MAX_PER_OBJECT`), are kept per (shortcode, author's domain). A known emoji takes a new
picture only when its URL changed or its `updated` is newer, as Mastodon does. Nothing is kept
from a server whose media we reject. Each new picture is queued for copying (`COPY_JOB`,
`copy_image`), under the remote-media rules of `media/remote.py`: Mastodon's 256 KB limit,
processed by `infra/images.process_emoji` (an animation kept as WebP with a still version).

Showing (`emojis_for_texts`): as Mastodon, the emojis of a status or an account are those of
its author's server whose `:shortcode:` its text uses; a whole page's are read in one query.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.domain.media.remote import DownloadError, fetch_image
from kinfolk.domain.media.service import discard_files
from kinfolk.domain.moderation.domain_blocks import policy_for
from kinfolk.infra.images import InvalidImage, ProcessedImage, process_emoji
from kinfolk.infra.storage import Storage
from kinfolk.kernel.ids import new_id

log = logging.getLogger("kinfolk.media")

COPY_JOB = "emojis.copy_image"
REMOVE_FILES_JOB = "media.remove_files"
# Emojis kept from one post or actor; the parser looks at no more (`parse/tags.MAX_PER_KIND`).
MAX_PER_OBJECT = 100
# Distinct shortcodes looked up per text: a text cannot make the page's query unbounded.
MAX_SHORTCODES_PER_TEXT = 100
MAX_SHORTCODE = 128  # as the two patterns below
# Mastodon's limit for a custom emoji's picture.
MAX_IMAGE_BYTES = 256 * 1024

SHORTCODE = re.compile(r"[A-Za-z0-9_]{2,128}")
# Mastodon's scan: `:code:` neither preceded nor followed by a letter, a digit or a colon.
_SCAN = re.compile(r"(?<![^\W_])(?<!:):([A-Za-z0-9_]{2,128}):(?![^\W_])(?!:)")


@dataclass(frozen=True)
class RemoteEmoji:
    """An `Emoji` tag as federation read it: a valid shortcode and an http(s) picture."""

    shortcode: str
    image_url: str
    uri: str | None = None
    updated: datetime | None = None


def shortcodes(text: str) -> list[str]:
    """The distinct `:shortcode:`s of `text`, in order of appearance, at most
    `MAX_SHORTCODES_PER_TEXT`."""
    found: dict[str, None] = {}
    for match in _SCAN.finditer(text):
        found.setdefault(match.group(1))
        if len(found) >= MAX_SHORTCODES_PER_TEXT:
            break
    return list(found)


def status_text(spoiler_text: str, content: str, poll_options: Sequence[str] | None = None) -> str:
    """The text whose `:shortcode:`s are a status's (or a revision's) emojis: Mastodon's
    spoiler, content and poll options."""
    return " ".join([spoiler_text, content, *(poll_options or [])])


def account_text(account: Account) -> str:
    """The text whose `:shortcode:`s are an account's emojis: Mastodon's name, bio and fields."""
    if account.suspended_at is not None:
        return ""
    parts = [account.display_name, account.note]
    for f in account.fields or []:
        if isinstance(f, dict):
            parts += (str(f.get("name", "")), str(f.get("value", "")))
    return " ".join(parts)


async def emojis_for_texts(
    session: AsyncSession, texts: Sequence[tuple[str | None, str]]
) -> list[list[CustomEmoji]]:
    """For each (domain, text), the enabled emojis of that domain (None: ours) its text uses,
    in the order the text first uses them; one query for all of them, none without any
    `:shortcode:`."""
    wanted = [shortcodes(text) if ":" in text else [] for _, text in texts]
    codes = {code for codes in wanted for code in codes}
    if not codes:
        return [[] for _ in texts]
    domains = {domain for (domain, _), found in zip(texts, wanted, strict=True) if found}
    conditions = []
    remote = [d for d in domains if d is not None]
    if remote:
        conditions.append(CustomEmoji.domain.in_(remote))
    if None in domains:
        conditions.append(CustomEmoji.domain.is_(None))
    rows = await session.execute(
        select(CustomEmoji).where(
            CustomEmoji.shortcode.in_(sorted(codes)), or_(*conditions), CustomEmoji.disabled.is_(False)
        )
    )
    by_key = {(e.domain, e.shortcode): e for e in rows.scalars()}
    return [
        [e for code in found if (e := by_key.get((domain, code))) is not None]
        for (domain, _), found in zip(texts, wanted, strict=True)
    ]


async def store_remote_emojis(uow: UnitOfWork, domain: str, emojis: Sequence[RemoteEmoji]) -> None:
    """Keep the emojis of a post or actor of `domain` (see the module); new pictures are queued
    for copying."""
    chosen: dict[str, RemoteEmoji] = {}
    for emoji in emojis[:MAX_PER_OBJECT]:
        if SHORTCODE.fullmatch(emoji.shortcode) and emoji.image_url.lower().startswith(
            ("https://", "http://")
        ):
            chosen.setdefault(emoji.shortcode, emoji)
    if not chosen:
        return
    session = uow.session
    if (await policy_for(session, domain)).reject_media:
        return
    known = {
        e.shortcode: e
        for e in (
            await session.execute(
                select(CustomEmoji).where(
                    CustomEmoji.domain == domain, CustomEmoji.shortcode.in_(sorted(chosen))
                )
            )
        ).scalars()
    }
    for shortcode, emoji in chosen.items():
        row = known.get(shortcode)
        if row is None:
            inserted = await session.execute(
                insert_for(session, CustomEmoji)
                .values(
                    id=new_id(),
                    shortcode=shortcode,
                    domain=domain,
                    uri=emoji.uri,
                    image_remote_url=emoji.image_url,
                    image_updated_at=emoji.updated,
                    disabled=False,
                    visible_in_picker=False,
                )
                .on_conflict_do_nothing(index_elements=["shortcode", "domain"])
                .returning(CustomEmoji.id)
            )
            emoji_id = inserted.scalar_one_or_none()
            if emoji_id is not None:
                await uow.enqueue(COPY_JOB, {"emoji_id": emoji_id, "url": emoji.image_url})
            continue
        newer = emoji.updated is not None and (
            row.image_updated_at is None or emoji.updated > row.image_updated_at
        )
        if emoji.image_url == row.image_remote_url and not newer:
            continue
        old_keys = [k for k in dict.fromkeys((row.image_key, row.image_static_key)) if k]
        row.image_remote_url = emoji.image_url
        row.uri = emoji.uri or row.uri
        row.image_updated_at = emoji.updated or row.image_updated_at
        row.image_key = row.image_static_key = None
        await session.flush()
        if old_keys:
            await uow.enqueue(REMOVE_FILES_JOB, {"keys": old_keys})
        await uow.enqueue(COPY_JOB, {"emoji_id": row.id, "url": emoji.image_url})


def _wanted(emoji: CustomEmoji | None, url: str) -> bool:
    return (
        emoji is not None
        and emoji.domain is not None
        and emoji.image_remote_url == url
        and emoji.image_key is None
        and not emoji.disabled
    )


async def copy_image(
    settings: Settings, storage: Storage, db_uow: UnitOfWork, emoji_id: int, url: str, *, last_attempt: bool
) -> None:
    """Copy a remote emoji's picture (downloaded with no transaction open), then record it in
    `db_uow` if the emoji still shows that URL. A picture that cannot be had or is not an image
    leaves the emoji shown from its origin; network trouble is retried."""
    async with db_uow.db.uow(write=False) as read:
        emoji = await read.session.get(CustomEmoji, emoji_id)
        if not _wanted(emoji, url) or not settings.cache_remote_media:
            return
        assert emoji is not None
        if (await policy_for(read.session, emoji.domain)).reject_media:
            return
    try:
        processed = await fetch_image(settings, url, process_emoji, max_bytes=MAX_IMAGE_BYTES)
    except DownloadError as exc:
        if exc.transient and not last_attempt:
            raise
        log.info("custom emoji %d was not copied from %s: %s", emoji_id, url[:200], exc)
        return
    except InvalidImage as exc:
        log.info("custom emoji %d at %s %s", emoji_id, url[:200], exc)
        return
    written: list[str] = []
    try:
        key = await _put(storage, emoji_id, processed.image, written)
        static_key = (
            key
            if processed.still is processed.image
            else await _put(storage, emoji_id, processed.still, written)
        )
        row = await db_uow.session.get(CustomEmoji, emoji_id, with_for_update=True, populate_existing=True)
        if row is None or not _wanted(row, url):
            await discard_files(storage, written)
            return
        row.image_key, row.image_static_key = key, static_key
        await db_uow.session.flush()
    except Exception:
        await discard_files(storage, written)
        raise


async def _put(storage: Storage, emoji_id: int, image: ProcessedImage, written: list[str]) -> str:
    key = f"custom_emojis/{emoji_id}/{secrets.token_hex(16)}.{image.extension}"
    await storage.put(key, image.data, image.content_type)
    written.append(key)
    return key
