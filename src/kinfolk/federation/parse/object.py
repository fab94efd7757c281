"""Posts (Note, Article, Page, Question, Event, Video, Audio, Image, ChatMessage), tombstones and
stand-alone emojis, as the statuses domain stores them.

Rules this module applies, each for a reason:
- `url` on another origin than `id` is dropped (security checklist 30, Misskey CVE-2025-25306): a
  status must never send readers to a page its server does not own.
- `content` over `MAX_CONTENT` characters is refused (`ParseError`), not cut: cutting HTML could
  change what it says, and no real post is that long (the largest captured article is 77 KB).
  Short fields (summary, names, option titles) are cut at their caps instead.
- Lists are read up to fixed caps: `MAX_ATTACHMENTS` attachments, `MAX_POLL_OPTIONS` poll options,
  tags as `tags.py` says, `MAX_RECIPIENTS` entries of `to` and of `cc`; the rest is ignored.
- Article, Page, Event, Video, Audio and Image are converted as Mastodon converts them
  (`CONVERTED_TYPES`): the status text is the title, the summary and a link to the object's
  page (never its full content, never an empty post), with no content warning. An Event adds
  its time and place; a Page the link it shares (Lemmy's `Link` attachment). An object without
  media of its own shows its thumbnail (`icon`, else `image`, the largest) as an image, an
  Image or Audio object its own file (`url` entries typed `image/*` or `audio/*`). The HTML
  made here is escaped; titles are bold paragraphs (what Mastodon's sanitiser makes of the
  `<h2>` it writes).
- `content` stays raw HTML (or the `media_type` it declares, e.g. PeerTube's Markdown): the
  sanitiser in `text/sanitize.py` cleans it where it is stored.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kinfolk.federation.parse.tags import (
    ParsedEmoji,
    ParsedHashtag,
    ParsedMention,
    parse_emoji_value,
    parse_tags,
)
from kinfolk.federation.parse.values import (
    ParseError,
    as_list,
    boolean,
    clean,
    count,
    datetime_value,
    first_id,
    first_type,
    https_url,
    ids,
    language_map,
    language_of,
    link_url,
    same_origin,
    short_string,
    text,
    types,
)

NOTE_TYPES = ("Note", "Article", "Page", "Question", "Event", "Video", "Audio", "Image", "ChatMessage")
CONVERTED_TYPES = frozenset({"Article", "Page", "Event", "Video", "Audio", "Image"})

MAX_CONTENT = 100_000
MAX_SUMMARY = 10_000
MAX_NAME = 2_000
MAX_RECIPIENTS = 500
MAX_ATTACHMENTS = 16
MAX_POLL_OPTIONS = 100
MAX_OPTION_NAME = 1_000
MAX_DESCRIPTION = 10_000
MAX_MEDIA_TYPE = 255
MAX_BLURHASH = 128
MAX_DIMENSION = 100_000
MAX_PLACE = 500
MAX_TIMEZONE = 64


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    url: str
    type: str | None = None
    """The attachment's own type (Document, Image, Video, Audio, Link...), None when missing."""
    media_type: str | None = None
    description: str | None = None
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None
    focal_point: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class ParsedPollOption:
    name: str
    votes: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedPoll:
    options: tuple[ParsedPollOption, ...]
    multiple: bool
    """anyOf (several choices) rather than oneOf."""
    end_time: datetime | None = None
    closed: datetime | None = None
    """When the poll closed (`closed` as a date; `closed: true` gives the end time or None)."""
    is_closed: bool = False
    voters_count: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedNote:
    id: str
    type: str
    attributed_to: str
    content: str | None = None
    media_type: str | None = None
    """The declared type of `content` (text/html when missing; PeerTube sends text/markdown)."""
    language: str | None = None
    name: str | None = None
    summary: str | None = None
    sensitive: bool = False
    published: datetime | None = None
    updated: datetime | None = None
    in_reply_to: str | None = None
    url: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    context: str | None = None
    mentions: tuple[ParsedMention, ...] = ()
    hashtags: tuple[ParsedHashtag, ...] = ()
    emojis: tuple[ParsedEmoji, ...] = ()
    attachments: tuple[ParsedAttachment, ...] = ()
    poll: ParsedPoll | None = None
    quote: str | None = None
    replies: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedTombstone:
    id: str
    former_type: str | None = None
    deleted: datetime | None = None


def is_note(doc: Mapping[str, Any]) -> bool:
    """Whether a document is typed as one of the post types this server stores."""
    return first_type(doc, NOTE_TYPES) is not None


def parse_note(doc: object) -> ParsedNote:
    """A post document as a `ParsedNote`; `ParseError` when it is unusable (see the module)."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    note_id = https_url(doc.get("id"))
    if note_id is None:
        raise ParseError("the object has no http(s) id")
    kind = first_type(doc, NOTE_TYPES)
    if kind is None:
        raise ParseError(f"not a post type: {types(doc)[:3]}")
    author = attributed_actor(doc.get("attributedTo"))
    if author is None:
        raise ParseError("the object has no attributedTo actor")

    raw_content = doc.get("content")
    content = clean(raw_content) if isinstance(raw_content, str) else None
    map_language, map_content = language_map(doc.get("contentMap"))
    if content is None:
        content = map_content
        language = map_language
    else:
        language = language_of(doc.get("contentMap"), content)
    if content is not None and len(content) > MAX_CONTENT:
        raise ParseError(f"the content is longer than {MAX_CONTENT} characters")

    url = link_url(doc.get("url"))
    if url is not None and not same_origin(url, note_id):
        url = None
    name = text(doc.get("name"), MAX_NAME) or text(doc.get("nameMap"), MAX_NAME)
    if language is None:
        language = language_map(doc.get("nameMap"))[0] or language_map(doc.get("summaryMap"))[0]
    media_type = short_string(doc.get("mediaType"), MAX_MEDIA_TYPE)
    summary = text(doc.get("summary"), MAX_SUMMARY) or text(doc.get("summaryMap"), MAX_SUMMARY)
    attachments = _attachments(doc.get("attachment"))
    if kind in CONVERTED_TYPES:
        attachments = _converted_media(kind, doc, attachments)
        content = _converted_text(kind, doc, name, summary, url or note_id, attachments)
        summary, media_type = None, None
    tags = parse_tags(doc.get("tag"))
    return ParsedNote(
        id=note_id,
        type=kind,
        attributed_to=author,
        content=content,
        media_type=media_type,
        language=language,
        name=name,
        summary=summary or None,
        sensitive=boolean(doc.get("sensitive")) or False,
        published=datetime_value(doc.get("published")),
        updated=datetime_value(doc.get("updated")),
        in_reply_to=first_id(doc.get("inReplyTo")),
        url=url,
        to=tuple(ids(doc.get("to"), MAX_RECIPIENTS)),
        cc=tuple(ids(doc.get("cc"), MAX_RECIPIENTS)),
        context=first_id(doc.get("context")) or first_id(doc.get("conversation")),
        mentions=tags.mentions,
        hashtags=tags.hashtags,
        emojis=tags.emojis,
        attachments=attachments,
        poll=_poll(doc) if kind == "Question" else None,
        quote=_quote(doc),
        replies=first_id(doc.get("replies")),
    )


def attributed_actor(value: object) -> str | None:
    """The author named by `attributedTo`: a string, an object, or an array of either. Where the
    array types its entries (PeerTube: a Person and the channel Group, Misskey alike), the first
    Person wins; otherwise the first usable id."""
    entries = as_list(value, 16)
    for entry in entries:
        if isinstance(entry, Mapping) and "Person" in types(entry):
            found = first_id(entry)
            if found is not None:
                return found
    return first_id(entries)


def _link(url: str) -> str:
    return f'<p><a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></p>'


def _converted_text(
    kind: str,
    doc: Mapping[str, Any],
    name: str | None,
    summary: str | None,
    url: str,
    attachments: tuple[ParsedAttachment, ...],
) -> str:
    """A converted object's status text (see the module): Mastodon's title, summary and link,
    with an Event's time and place and a Page's shared link between summary and link."""
    parts: list[str] = []
    if name and name.strip():
        parts.append(f"<p><strong>{html.escape(name.strip(), quote=False)}</strong></p>")
    if summary and summary.strip():
        # Mastodon reads a summary as HTML; plain text is escaped so it reads as written.
        body = summary.strip()
        parts.append(body if "<" in body else _paragraphs(body))
    if kind == "Event":
        when = _event_time(doc)
        if when:
            parts.append(f"<p>{html.escape(when, quote=False)}</p>")
        place = _place(doc.get("location"))
        if place:
            parts.append(f"<p>{html.escape(place, quote=False)}</p>")
    if kind == "Page":
        # The link a Lemmy post shares (an attachment Link; older Lemmy and lotide: `url`), unless
        # it is the image shown already. Only text here, so another origin is no risk.
        media = {a.url for a in attachments if a.type != "Link"}
        links = [a.url for a in attachments if a.type == "Link"] + [link_url(doc.get("url")) or url]
        shared = next((link for link in links if link not in media and link != url), None)
        if shared is not None:
            parts.append(_link(shared))
    parts.append(_link(url))
    return "\n\n".join(parts)


def _paragraphs(value: str) -> str:
    chunks = [c.strip() for c in value.replace("\r\n", "\n").split("\n\n") if c.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line.strip(), quote=False) for line in c.split("\n")) + "</p>"
        for c in chunks
    )


def _local_time(value: object) -> datetime | None:
    """A time as the document wrote it (its own offset kept: an event is told in its place's time)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime_value(value)
    return found if found.tzinfo is not None else datetime_value(value)


def _event_time(doc: Mapping[str, Any]) -> str | None:
    """Start to end ("2022-12-11 19:00 to 21:00" with an en dash; the end's date only when it is
    another day), then the event's time zone name, else its UTC offset."""
    start = _local_time(doc.get("startTime"))
    if start is None:
        return None
    told = start.strftime("%Y-%m-%d %H:%M")
    end = _local_time(doc.get("endTime"))
    if end is not None and end > start:
        end = end.astimezone(start.tzinfo)
        told += " \N{EN DASH} " + end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    zone = short_string(doc.get("timezone"), MAX_TIMEZONE)
    if zone is None or not all(c.isalnum() or c in "/_+-" for c in zone):
        zone = "UTC" + start.strftime("%z")[:3] + ":" + start.strftime("%z")[3:]
    return f"{told} ({zone})"


def _place(value: object) -> str | None:
    """A `location` (a Place, or the first of several) as one line: its name and address."""
    entries = as_list(value, 4)
    place = next((e for e in entries if isinstance(e, Mapping)), None)
    if place is None:
        return None
    parts: list[str] = []
    name = text(place.get("name"), MAX_PLACE)
    if name and name.strip():
        parts.append(name.strip())
    address = place.get("address")
    if isinstance(address, str):
        parts.append(address)
    elif isinstance(address, Mapping):
        for key in ("streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry"):
            found = text(address.get(key), MAX_PLACE)
            if found and found.strip():
                parts.append(found.strip())
    unique = [p for n, p in enumerate(parts) if p not in parts[:n]]
    return ", ".join(unique)[:MAX_PLACE] or None


def _converted_media(
    kind: str, doc: Mapping[str, Any], attachments: tuple[ParsedAttachment, ...]
) -> tuple[ParsedAttachment, ...]:
    """A converted object's media: its attachments; without any, an Image's or Audio's own file,
    else its thumbnail."""
    if any(a.type != "Link" for a in attachments):
        return attachments
    own = (
        _own_files(doc.get("url"), "image/" if kind == "Image" else "audio/")
        if kind in ("Image", "Audio")
        else ()
    )
    thumbnail = _thumbnail(doc.get("icon")) or _thumbnail(doc.get("image"))
    found = (*own, *((thumbnail,) if thumbnail is not None else ()))
    return (*attachments, *found[: MAX_ATTACHMENTS - len(attachments)])


def _own_files(value: object, prefix: str) -> tuple[ParsedAttachment, ...]:
    for entry in as_list(value, 32):
        if not isinstance(entry, Mapping):
            continue
        mime = entry.get("mediaType") or entry.get("mimeType")
        url = https_url(entry.get("href")) or https_url(entry.get("url"))
        if isinstance(mime, str) and mime.startswith(prefix) and url is not None:
            return (
                ParsedAttachment(url=url, type=prefix.rstrip("/").title(), media_type=mime[:MAX_MEDIA_TYPE]),
            )
    return ()


def _thumbnail(value: object) -> ParsedAttachment | None:
    """The largest image of an `icon`/`image` value (PeerTube lists several sizes)."""
    best: ParsedAttachment | None = None
    for entry in as_list(value, 32):
        url = https_url(entry) if isinstance(entry, str) else None
        if isinstance(entry, Mapping):
            url = https_url(entry.get("url")) or https_url(entry.get("href"))
        if url is None:
            continue
        media_type = (
            short_string(entry.get("mediaType"), MAX_MEDIA_TYPE) if isinstance(entry, Mapping) else None
        )
        if media_type is not None and not media_type.startswith("image/"):
            continue
        width = _dimension(entry.get("width")) if isinstance(entry, Mapping) else None
        height = _dimension(entry.get("height")) if isinstance(entry, Mapping) else None
        found = ParsedAttachment(url=url, type="Image", media_type=media_type, width=width, height=height)
        if best is None or (width or 0) > (best.width or 0):
            best = found
    return best


def _quote(doc: Mapping[str, Any]) -> str | None:
    """The quoted post: FEP-044f `quote`, then Fedibird/Misskey spellings."""
    for key in ("quote", "quoteUri", "_misskey_quote", "quoteUrl"):
        found = first_id(doc.get(key))
        if found is not None:
            return found
    return None


def _attachments(value: object) -> tuple[ParsedAttachment, ...]:
    found: list[ParsedAttachment] = []
    for entry in as_list(value, MAX_ATTACHMENTS):
        if isinstance(entry, str):
            url = https_url(entry)
            if url is not None:
                found.append(ParsedAttachment(url=url))
            continue
        if not isinstance(entry, Mapping):
            continue
        url = link_url(entry.get("url")) or https_url(entry.get("href"))
        if url is None:
            continue
        kinds = types(entry)
        found.append(
            ParsedAttachment(
                url=url,
                type=kinds[0] if kinds else None,
                media_type=short_string(entry.get("mediaType"), MAX_MEDIA_TYPE),
                description=text(entry.get("name"), MAX_DESCRIPTION)
                or text(entry.get("summary"), MAX_DESCRIPTION),
                blurhash=short_string(entry.get("blurhash"), MAX_BLURHASH),
                width=_dimension(entry.get("width")),
                height=_dimension(entry.get("height")),
                focal_point=_focal_point(entry.get("focalPoint")),
            )
        )
    return tuple(found)


def _dimension(value: object) -> int | None:
    found = count(value)
    return found if found is not None and 0 < found <= MAX_DIMENSION else None


def _focal_point(value: object) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        return None
    point: list[float] = []
    for entry in value:
        if isinstance(entry, bool) or not isinstance(entry, int | float) or not -1.0 <= entry <= 1.0:
            return None
        point.append(float(entry))
    return point[0], point[1]


def _poll(doc: Mapping[str, Any]) -> ParsedPoll | None:
    any_of = as_list(doc.get("anyOf"), MAX_POLL_OPTIONS)
    one_of = as_list(doc.get("oneOf"), MAX_POLL_OPTIONS)
    multiple = bool(any_of) and not one_of
    options: list[ParsedPollOption] = []
    for entry in any_of if multiple else one_of:
        if not isinstance(entry, Mapping):
            continue
        name = text(entry.get("name"), MAX_OPTION_NAME) or text(entry.get("nameMap"), MAX_OPTION_NAME)
        if name is None:
            continue
        replies = entry.get("replies")
        votes = count(replies.get("totalItems")) if isinstance(replies, Mapping) else None
        options.append(ParsedPollOption(name=name, votes=votes))
    if not options:
        return None
    end_time = datetime_value(doc.get("endTime"))
    closed_value = doc.get("closed")
    closed = datetime_value(closed_value)
    if closed is None and closed_value is True:
        closed = end_time
    return ParsedPoll(
        options=tuple(options),
        multiple=multiple,
        end_time=end_time,
        closed=closed,
        is_closed=closed is not None or closed_value is True,
        voters_count=count(doc.get("votersCount")),
    )


def parse_tombstone(doc: object) -> ParsedTombstone:
    """A Tombstone (what a deleted object's id answers, or a Delete carries)."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    if "Tombstone" not in types(doc):
        raise ParseError("not a Tombstone")
    tombstone_id = https_url(doc.get("id"))
    if tombstone_id is None:
        raise ParseError("the tombstone has no http(s) id")
    former = doc.get("formerType")
    return ParsedTombstone(
        id=tombstone_id,
        former_type=former if isinstance(former, str) and len(former) <= 64 else None,
        deleted=datetime_value(doc.get("deleted")),
    )


def parse_emoji(doc: object) -> ParsedEmoji:
    """A dereferenced Emoji object (what an emoji's id answers)."""
    if not isinstance(doc, Mapping) or "Emoji" not in types(doc):
        raise ParseError("not an Emoji object")
    if https_url(doc.get("id")) is None:
        raise ParseError("the emoji has no http(s) id")
    emoji = parse_emoji_value(doc)
    if emoji is None:
        raise ParseError("the emoji has no valid shortcode or http(s) icon")
    return emoji
