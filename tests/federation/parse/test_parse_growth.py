"""Parsing costs at most linear time in the document, for the shapes that hurt careless code:
long arrays of tags, recipients, attachments, options, languages, keys and fields; long strings;
deep nesting. (The caps make most of them constant; these prove it at 1x, 10x and 100x.)

The nested-url shape builds its input by recursion-free loops; parsing it must not recurse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.growth import assert_linear

from kinfolk.federation.parse.activity import parse_activity
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.object import parse_note
from kinfolk.federation.parse.values import ParseError

AUTHOR = "https://a.example/users/alice"


def _note(**fields: Any) -> dict[str, Any]:
    return {
        "id": "https://a.example/notes/1",
        "type": "Note",
        "attributedTo": AUTHOR,
        "content": "hi",
        **fields,
    }


def _actor(**fields: Any) -> dict[str, Any]:
    return {
        "id": AUTHOR,
        "type": "Person",
        "preferredUsername": "alice",
        "inbox": AUTHOR + "/inbox",
        **fields,
    }


def _nested(n: int) -> object:
    value: object = "https://a.example/x"
    for _ in range(n):
        value = {"url": [value]}
    return value


SHAPES: dict[str, tuple[Callable[[Any], object], Callable[[int], Any]]] = {
    "mentions": (
        parse_note,
        lambda n: _note(tag=[{"type": "Mention", "href": f"https://b.example/u/{i}"} for i in range(n)]),
    ),
    "emojis": (
        parse_note,
        lambda n: _note(
            tag=[
                {"type": "Emoji", "name": f":e{i}:", "icon": {"url": "https://a.example/e"}} for i in range(n)
            ]
        ),
    ),
    "recipients": (parse_note, lambda n: _note(to=[f"https://b.example/u/{i}" for i in range(n)])),
    "attachments": (
        parse_note,
        lambda n: _note(attachment=[{"url": "https://a.example/m"} for _ in range(n)]),
    ),
    "poll options": (
        parse_note,
        lambda n: _note(type="Question", oneOf=[{"name": str(i)} for i in range(n)]),
    ),
    "content map languages": (
        parse_note,
        lambda n: {**_note(), "content": None, "contentMap": {f"l{i}": "x" for i in range(n)}},
    ),
    "long content": (parse_note, lambda n: _note(content="<p>" * n)),
    "long url": (parse_note, lambda n: _note(url="https://a.example/" + "a" * n)),
    "long host": (parse_note, lambda n: _note(url="https://" + "a." * n + "example/")),
    "nested url": (parse_note, lambda n: _note(url=_nested(n))),
    "many keys": (parse_note, lambda n: {**_note(), **{f"k{i}": i for i in range(n)}}),
    "actor fields": (
        parse_actor,
        lambda n: _actor(attachment=[{"type": "PropertyValue", "name": "n", "value": "v"} for _ in range(n)]),
    ),
    "actor aliases": (
        parse_actor,
        lambda n: _actor(alsoKnownAs=[f"https://b.example/{i}" for i in range(n)]),
    ),
    "activity objects": (
        parse_activity,
        lambda n: {"id": AUTHOR + "#a", "type": "Flag", "actor": AUTHOR, "object": [AUTHOR] * n},
    ),
    "collection items": (
        parse_collection,
        lambda n: {"id": AUTHOR + "/outbox", "type": "OrderedCollection", "orderedItems": [AUTHOR] * n},
    ),
}


def _tolerant(parser: Callable[[Any], object]) -> Callable[[Any], object]:
    def work(doc: Any) -> object:
        try:
            return parser(doc)
        except ParseError as error:
            return error

    return work


@pytest.mark.parametrize("shape", list(SHAPES))
def test_parsing_is_linear(shape: str) -> None:
    parser, make = SHAPES[shape]
    # The caps make each parse cost microseconds, so the helper's search for a base taking a
    # millisecond would grow the inputs without end: it stops at 500 (100x = 50,000 entries).
    assert_linear(_tolerant(parser), make, base=100, max_base=500)
