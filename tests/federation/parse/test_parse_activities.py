"""Activities' envelopes, collections, WebFinger and NodeInfo."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kinfolk.federation.parse.activity import KNOWN_TYPES, parse_activity
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.discovery import parse_nodeinfo, parse_nodeinfo_links, parse_webfinger
from kinfolk.federation.parse.shape import Shape, shape_of
from kinfolk.federation.parse.values import PUBLIC, ParseError

ACTOR = "https://a.example/users/alice"


def activity(**fields: Any) -> dict[str, Any]:
    return {"id": "https://a.example/activities/1", "type": "Like", "actor": ACTOR, **fields}


@pytest.mark.parametrize("kind", KNOWN_TYPES)
def test_every_known_type_parses(kind: str) -> None:
    parsed = parse_activity(activity(type=kind, object="https://b.example/notes/1"))
    assert (parsed.type, parsed.known, parsed.object_id) == (kind, True, "https://b.example/notes/1")


def test_unknown_types_parse_as_unknown() -> None:
    parsed = parse_activity(activity(type="Dislike", object="https://b.example/notes/1"))
    assert (parsed.type, parsed.known) == ("Dislike", False)
    assert parse_activity(activity(type=["Dislike", "Like"])).type == "Like"


def test_actor_as_object_or_array_takes_the_first_id() -> None:
    assert parse_activity(activity(actor={"id": ACTOR, "type": "Person"})).actor == ACTOR
    assert parse_activity(activity(actor=[None, ACTOR, "https://a.example/users/bob"])).actor == ACTOR
    with pytest.raises(ParseError, match="actor"):
        parse_activity(activity(actor="javascript:alert(1)"))


def test_embedded_objects_are_kept_beside_their_id() -> None:
    note = {"id": "https://a.example/notes/1", "type": "Note", "content": "hi"}
    parsed = parse_activity(
        activity(
            type="Create",
            object=note,
            to=["as:Public"],
            cc=ACTOR + "/followers",
            published="2024-01-01T00:00:00Z",
        )
    )
    assert parsed.object == note
    assert parsed.object_id == "https://a.example/notes/1"
    assert parsed.to == (PUBLIC,)
    assert parsed.cc == (ACTOR + "/followers",)
    assert parsed.published is not None


def test_an_object_array_keeps_every_id() -> None:
    parsed = parse_activity(
        activity(
            type="Flag",
            object=["https://b.example/users/bob", {"id": "https://b.example/notes/2"}],
            content="spam",
        )
    )
    assert parsed.object == "https://b.example/users/bob"
    assert parsed.object_ids == ("https://b.example/users/bob", "https://b.example/notes/2")
    assert parsed.content == "spam"


def test_target_and_emoji_reactions() -> None:
    parsed = parse_activity(
        activity(
            type="EmojiReact",
            object="https://b.example/notes/1",
            content=":blob:",
            target={"id": "https://a.example/c", "type": "Collection"},
            tag=[{"type": "Emoji", "name": ":blob:", "icon": {"url": "https://a.example/blob.png"}}],
        )
    )
    assert parsed.target == "https://a.example/c"
    assert [e.shortcode for e in parsed.emojis] == ["blob"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "no http(s) id"),
        ({"id": "urn:uuid:1"}, "no http(s) id"),
        ({"type": None}, "no type"),
        ({"actor": None}, "no http(s) actor"),
    ],
)
def test_unusable_activities_are_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse_activity(activity(**change))


def test_collections_and_pages() -> None:
    parsed = parse_collection(
        {
            "id": ACTOR + "/followers",
            "type": "OrderedCollection",
            "totalItems": 3,
            "first": {
                "type": "OrderedCollectionPage",
                "orderedItems": [
                    "https://b.example/users/1",
                    {"id": "https://b.example/users/2"},
                    "javascript:x",
                ],
                "next": ACTOR + "/followers?page=2",
                "first": {"type": "OrderedCollectionPage", "id": "https://a.example/deeper"},
            },
        }
    )
    assert (parsed.total_items, parsed.first, parsed.items) == (3, None, ())
    assert parsed.first_page is not None
    assert parsed.first_page.item_ids == ("https://b.example/users/1", "https://b.example/users/2")
    assert parsed.first_page.next == ACTOR + "/followers?page=2"
    assert parsed.first_page.first_page is None  # one level only
    page = parse_collection(
        {"id": ACTOR + "/outbox?page=1", "type": "CollectionPage", "items": ["https://a.example/1"] * 5_000}
    )
    assert len(page.items) == 1_000
    with pytest.raises(ParseError, match="no http"):
        parse_collection({"type": "Collection"})
    with pytest.raises(ParseError, match="not a collection"):
        parse_collection({"id": ACTOR, "type": "Person"})


def test_webfinger() -> None:
    parsed = parse_webfinger(
        {
            "subject": "acct:alice@a.example",
            "aliases": ["https://a.example/@alice", "javascript:x"],
            "links": [
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": "https://a.example/@alice",
                },
                {"rel": "self", "type": "application/activity+json", "href": ACTOR},
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": "https://a.example/share?uri={uri}",
                },
            ],
        }
    )
    assert parsed.actor_url == ACTOR
    assert parsed.aliases == ("https://a.example/@alice",)
    assert parsed.profile_page == "https://a.example/@alice"
    assert parsed.subscribe_template == "https://a.example/share?uri={uri}"
    with pytest.raises(ParseError, match="self link"):
        parse_webfinger({"subject": "acct:a@a.example", "links": [{"rel": "self", "href": "javascript:x"}]})


def test_nodeinfo() -> None:
    links = parse_nodeinfo_links(
        {
            "links": [
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                    "href": "https://a.example/nodeinfo/2.0",
                },
                {
                    "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                    "href": "https://a.example/nodeinfo/2.1",
                },
                {
                    "rel": "https://www.w3.org/ns/activitystreams#Application",
                    "href": "https://a.example/actor",
                },
            ]
        }
    )
    assert links.best == "https://a.example/nodeinfo/2.1"
    info = parse_nodeinfo(
        {
            "version": "2.1",
            "software": {"name": "kinfolk", "version": "0.1.0"},
            "protocols": ["activitypub"],
            "usage": {"users": {"total": 3, "activeMonth": 2}, "localPosts": 10},
            "openRegistrations": False,
        }
    )
    assert (info.software_name, info.software_version, info.protocols) == (
        "kinfolk",
        "0.1.0",
        ("activitypub",),
    )
    assert (info.users_total, info.users_active_month, info.local_posts) == (3, 2, 10)
    with pytest.raises(ParseError):
        parse_nodeinfo({"software": {}, "protocols": []})


@pytest.mark.parametrize(
    ("doc", "shape"),
    [
        ({"type": "Person"}, Shape.ACTOR),
        ({"type": ["Question"], "actor": ACTOR}, Shape.NOTE),
        ({"type": "Follow"}, Shape.ACTIVITY),
        ({"type": "Join", "actor": ACTOR}, Shape.ACTIVITY),
        ({"type": "OrderedCollectionPage"}, Shape.COLLECTION),
        ({"type": "Tombstone"}, Shape.TOMBSTONE),
        ({"subject": "acct:a@b", "links": []}, Shape.WEBFINGER),
        ({"@context": {}}, Shape.OTHER),
        ([{"type": "Note"}], Shape.OTHER),
        ("Note", Shape.OTHER),
    ],
)
def test_shapes(doc: object, shape: Shape) -> None:
    assert shape_of(doc) is shape
