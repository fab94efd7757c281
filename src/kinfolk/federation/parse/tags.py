"""Readers of the `tag` array (mentions, hashtags, custom emojis) shared by actors, notes and
activities.

A `tag` array may be any length; at most `MAX_TAG_ENTRIES` entries are looked at and at most
`MAX_PER_KIND` of each kind kept, so a note with 10,000 tags costs as much as one with 300.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kinfolk.federation.parse.values import (
    as_list,
    datetime_value,
    https_url,
    link_url,
    short_string,
    text,
    types,
)

MAX_PER_KIND = 100
MAX_TAG_ENTRIES = 3 * MAX_PER_KIND
MAX_NAME = 512

# Mastodon's shortcode: two or more letters, digits or `_` (security checklist E.53).
_SHORTCODE = re.compile(r"[A-Za-z0-9_]{2,128}")


@dataclass(frozen=True, slots=True)
class ParsedMention:
    href: str
    name: str | None


@dataclass(frozen=True, slots=True)
class ParsedHashtag:
    name: str
    """Without the leading `#`; not otherwise normalised (the tags domain does that)."""
    href: str | None


@dataclass(frozen=True, slots=True)
class ParsedEmoji:
    """A custom emoji: `shortcode` is the name without its colons, only letters, digits and `_`
    (anything else, such as `:x" onmouseover="...:`, is refused rather than escaped later)."""

    shortcode: str
    icon_url: str
    id: str | None = None
    updated: datetime | None = None
    media_type: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedTags:
    mentions: tuple[ParsedMention, ...] = ()
    hashtags: tuple[ParsedHashtag, ...] = ()
    emojis: tuple[ParsedEmoji, ...] = ()


def parse_emoji_value(value: object) -> ParsedEmoji | None:
    """One Emoji object, or None when it has no safe shortcode or no http(s) icon."""
    if not isinstance(value, Mapping):
        return None
    name = text(value.get("name"))
    if name is None:
        return None
    shortcode = name.strip().strip(":")
    if not _SHORTCODE.fullmatch(shortcode):
        return None
    icon = value.get("icon")
    icon_url = link_url(icon)
    if icon_url is None:
        return None
    media_type = short_string(icon.get("mediaType"), 255) if isinstance(icon, Mapping) else None
    return ParsedEmoji(
        shortcode=shortcode,
        icon_url=icon_url,
        id=https_url(value.get("id")),
        updated=datetime_value(value.get("updated")),
        media_type=media_type,
    )


def parse_tags(value: object) -> ParsedTags:
    """Mentions, hashtags and emojis of a `tag` value (object or array); other entries are ignored."""
    mentions: list[ParsedMention] = []
    hashtags: list[ParsedHashtag] = []
    emojis: list[ParsedEmoji] = []
    for entry in as_list(value, MAX_TAG_ENTRIES):
        if not isinstance(entry, Mapping):
            continue
        kinds = types(entry)
        if "Mention" in kinds:
            if len(mentions) < MAX_PER_KIND:
                mention = _mention(entry)
                if mention is not None:
                    mentions.append(mention)
        elif "Emoji" in kinds:
            if len(emojis) < MAX_PER_KIND:
                emoji = parse_emoji_value(entry)
                if emoji is not None:
                    emojis.append(emoji)
        elif "Hashtag" in kinds and len(hashtags) < MAX_PER_KIND:
            hashtag = _hashtag(entry)
            if hashtag is not None:
                hashtags.append(hashtag)
    return ParsedTags(tuple(mentions), tuple(hashtags), tuple(emojis))


def _mention(entry: Mapping[str, Any]) -> ParsedMention | None:
    href = https_url(entry.get("href"))
    if href is None:
        return None
    return ParsedMention(href=href, name=text(entry.get("name"), MAX_NAME))


def _hashtag(entry: Mapping[str, Any]) -> ParsedHashtag | None:
    name = text(entry.get("name"), MAX_NAME)
    if name is None:
        return None
    name = name.strip().lstrip("#").strip()
    if not name:
        return None
    return ParsedHashtag(name=name, href=https_url(entry.get("href")))
