"""Activities (Create, Follow, Like, ...) as the inbox hands them to their handlers.

Only the envelope is read here: id, type, actor, object, target, addressing and publication time.
What an activity means, and whether its actor may do it (the object's origin, ownership), is the
handler's question (`federation/activities/`); an embedded object is kept as it came, beside its
id, for the handler to parse with `parse_note`/`parse_actor` or to fetch again from its origin.

Types outside `KNOWN_TYPES` (Dislike, Join, Lock, Resolve, ...) parse all the same with
`known=False`: the inbox answers them without acting, instead of treating them as malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kinfolk.federation.parse.tags import ParsedEmoji, parse_tags
from kinfolk.federation.parse.values import (
    ParseError,
    datetime_value,
    first_id,
    first_type,
    https_url,
    ids,
    text,
    types,
)

KNOWN_TYPES = (
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Announce",
    "Like",
    "Block",
    "Move",
    "Add",
    "Remove",
    "Flag",
    "EmojiReact",
)
MAX_RECIPIENTS = 500
MAX_OBJECTS = 100
MAX_CONTENT = 10_000


@dataclass(frozen=True, slots=True)
class ParsedActivity:
    id: str
    type: str
    actor: str
    known: bool
    object: str | Mapping[str, Any] | None = None
    """The object as sent: its id (a string) or the embedded object (a JSON object)."""
    object_id: str | None = None
    object_ids: tuple[str, ...] = ()
    """Every object id, for activities whose object is an array (Flag: the account and posts)."""
    target: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    published: datetime | None = None
    content: str | None = None
    """Flag's comment, EmojiReact's emoji, a Block's or Delete's reason (Lemmy puts it in summary)."""
    emojis: tuple[ParsedEmoji, ...] = ()


def is_activity(doc: Mapping[str, Any]) -> bool:
    """Whether a document looks like an activity: a known activity type, or any type with an actor."""
    return first_type(doc, KNOWN_TYPES) is not None or ("actor" in doc and bool(types(doc)))


def parse_activity(doc: object) -> ParsedActivity:
    """An activity's envelope as a `ParsedActivity`; `ParseError` when it is unusable."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    activity_id = https_url(doc.get("id"))
    if activity_id is None:
        raise ParseError("the activity has no http(s) id")
    known = first_type(doc, KNOWN_TYPES)
    names = types(doc)
    kind = known or (names[0] if names else None)
    if kind is None:
        raise ParseError("the activity has no type")
    actor = first_id(doc.get("actor"))
    if actor is None:
        raise ParseError("the activity has no http(s) actor")
    raw_object = doc.get("object")
    embedded: str | Mapping[str, Any] | None = None
    if isinstance(raw_object, Mapping):
        embedded = raw_object
    elif isinstance(raw_object, str):
        embedded = https_url(raw_object)
    elif isinstance(raw_object, list):
        first = next((entry for entry in raw_object[:MAX_OBJECTS] if isinstance(entry, Mapping | str)), None)
        embedded = first if isinstance(first, Mapping) else https_url(first)
    object_ids = tuple(ids(raw_object, MAX_OBJECTS))
    content = text(doc.get("content"), MAX_CONTENT) or text(doc.get("summary"), MAX_CONTENT)
    return ParsedActivity(
        id=activity_id,
        type=kind,
        actor=actor,
        known=known is not None,
        object=embedded,
        object_id=object_ids[0] if object_ids else None,
        object_ids=object_ids,
        target=first_id(doc.get("target")),
        to=tuple(ids(doc.get("to"), MAX_RECIPIENTS)),
        cc=tuple(ids(doc.get("cc"), MAX_RECIPIENTS)),
        published=datetime_value(doc.get("published")),
        content=content,
        emojis=parse_tags(doc.get("tag")).emojis,
    )


def embedded_types(activity: ParsedActivity) -> list[str]:
    """The types of the embedded object, if the activity carries one (empty otherwise)."""
    return types(activity.object) if isinstance(activity.object, Mapping) else []
