"""What kind of document a JSON value is, by its shape alone, so a fetcher or a test can hand it to
the right parser. Nothing is parsed or checked here; the parser decides whether it is usable.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from kinfolk.federation.parse.activity import is_activity
from kinfolk.federation.parse.actor import is_actor
from kinfolk.federation.parse.collection import is_collection
from kinfolk.federation.parse.discovery import is_nodeinfo, is_nodeinfo_links, is_webfinger
from kinfolk.federation.parse.object import is_note
from kinfolk.federation.parse.values import types


class Shape(StrEnum):
    ACTOR = "actor"
    NOTE = "note"
    ACTIVITY = "activity"
    COLLECTION = "collection"
    TOMBSTONE = "tombstone"
    EMOJI = "emoji"
    WEBFINGER = "webfinger"
    NODEINFO = "nodeinfo"
    NODEINFO_LINKS = "nodeinfo-links"
    OTHER = "other"
    """Not a document this server reads (a JSON-LD context, an unknown object type, not an object)."""


def shape_of(doc: object) -> Shape:
    """The kind of `doc`; actors and posts are recognised before activities, since some servers
    put an `actor` property on objects (Pleroma's Question)."""
    if not isinstance(doc, Mapping):
        return Shape.OTHER
    if is_actor(doc):
        return Shape.ACTOR
    if is_note(doc):
        return Shape.NOTE
    if is_collection(doc):
        return Shape.COLLECTION
    kinds = types(doc)
    if "Tombstone" in kinds:
        return Shape.TOMBSTONE
    if "Emoji" in kinds:
        return Shape.EMOJI
    if is_activity(doc):
        return Shape.ACTIVITY
    if is_webfinger(doc):
        return Shape.WEBFINGER
    if is_nodeinfo(doc):
        return Shape.NODEINFO
    if is_nodeinfo_links(doc):
        return Shape.NODEINFO_LINKS
    return Shape.OTHER
