"""Any JSON value at all, given to any parser: a parsed value or `ParseError`, nothing else.

The documents are drawn from ActivityStreams' own vocabulary (keys and type names that the parsers
read) filled with arbitrary JSON, so that most of them reach deep into the parsers instead of
being refused at the first check. Derandomised: the same cases run everywhere."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfolk.federation.parse.activity import parse_activity
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.discovery import parse_nodeinfo, parse_nodeinfo_links, parse_webfinger
from kinfolk.federation.parse.object import parse_emoji, parse_note, parse_tombstone
from kinfolk.federation.parse.shape import shape_of
from kinfolk.federation.parse.values import ParseError

PARSERS: list[Callable[[object], object]] = [
    parse_actor,
    parse_note,
    parse_activity,
    parse_collection,
    parse_tombstone,
    parse_emoji,
    parse_webfinger,
    parse_nodeinfo,
    parse_nodeinfo_links,
]
KEYS = [
    "id", "type", "actor", "object", "target", "to", "cc", "content", "contentMap", "name", "summary",
    "url", "href", "icon", "image", "tag", "attachment", "attributedTo", "inReplyTo", "quote",
    "_misskey_quote", "oneOf", "anyOf", "replies", "totalItems", "endTime", "closed", "published",
    "preferredUsername", "inbox", "outbox", "followers", "endpoints", "sharedInbox", "publicKey",
    "publicKeyPem", "owner", "mediaType", "focalPoint", "width", "blurhash", "orderedItems", "items",
    "first", "next", "subject", "links", "rel", "software", "protocols", "usage", "alsoKnownAs",
]  # fmt: skip
TYPES = ["Note", "Question", "Person", "Service", "Create", "Flag", "Mention", "Hashtag", "Emoji",
         "PropertyValue", "Link", "OrderedCollection", "Tombstone", "self"]  # fmt: skip
STRINGS = st.one_of(
    st.sampled_from(TYPES),
    st.sampled_from(
        ["https://a.example/x", "https://A.example./y", "as:Public", "javascript:x", ":e:", "-----BEGIN"]
    ),
    st.text(max_size=30),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), STRINGS)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=8),
    ),
    max_leaves=40,
)


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(JSON)
def test_any_json_gives_a_value_or_a_parse_error(doc: Any) -> None:
    shape_of(doc)
    for parser in PARSERS:
        with contextlib.suppress(ParseError):
            parser(doc)
