"""Every text parser and renderer runs in time linear in its input, for its worst shapes.

A post made of mentions used to take seconds (the overlap check was quadratic); these feed
each parser the shapes that hurt careless code (many entities, long digit runs, dotted names,
trailing brackets, deep or unclosed tags) at 1x, 10x and 100x, and compare the times."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from tests.growth import assert_linear

from kinfolk.domain.search.plaintext import html_to_text
from kinfolk.text.compose import count_characters, extract_entities, render_status_html
from kinfolk.text.plain_to_html import MentionLink, plain_to_html
from kinfolk.text.sanitize import sanitize_html

STATUS_SHAPES: dict[str, Callable[[int], str]] = {
    "mentions": lambda n: "@a " * n,
    "hashtags": lambda n: "#a " * n,
    "mixed entities": lambda n: "https://a.b/x @a@b.example #b " * n,
    "urls and mentions in turn": lambda n: "https://a.b/@c @d " * n,
    "hash and digits": lambda n: "#" + "1" * (10 * n),
    "dotted mention": lambda n: "@" + "a." * (5 * n),
    "dashed domain": lambda n: "@a@" + "b-" * (5 * n),
    "url with trailing brackets": lambda n: "https://x.y/" + ")" * (5 * n) + "." * (5 * n),
}


@pytest.mark.parametrize("shape", list(STATUS_SHAPES))
def test_status_length_is_linear(shape: str) -> None:
    assert_linear(count_characters, STATUS_SHAPES[shape], base=200)


def test_status_html_with_resolved_mentions_is_linear() -> None:
    def render(text: str) -> str:
        return render_status_html(
            text,
            resolve_mention=lambda u, d: ("https://k.test/@a", "a"),
            tag_url=lambda n: "https://k.test/t",
        )

    assert_linear(render, lambda n: "@a #b https://c.d/ " * n, base=100)


PLAIN_SHAPES: dict[str, Callable[[int], str]] = {
    "mentions and urls": lambda n: "@a https://a.example/ @b@c.example #t " * n,
    "url with trailing brackets": lambda n: "https://x.y/" + ")" * (5 * n) + "," * (5 * n),
    "paragraphs": lambda n: "a\n \n" * n,
}


@pytest.mark.parametrize("shape", list(PLAIN_SHAPES))
def test_plain_to_html_is_linear(shape: str) -> None:
    mentions = {("a", None): MentionLink("https://k.test/@a", "a", "a")}
    mentions.update({("b", f"c{i}.example"): MentionLink("https://c/@b", "b", "b@c") for i in range(50)})

    def render(text: str) -> str:
        return plain_to_html(text, tag_url=lambda n: "https://k.test/t", mentions=mentions)

    assert_linear(render, PLAIN_SHAPES[shape], base=50)


HTML_SHAPES: dict[str, Callable[[int], str]] = {
    "nested divs": lambda n: "<div>" * n + "x",
    "nested formatting": lambda n: "<b><i>" * n + "x",
    "unclosed brackets": lambda n: "<" * (10 * n),
    "links without href": lambda n: '<a class="x">y</a>' * n,
    "links to refused schemes": lambda n: '<p><a href="javascript:x">y</a></p>' * n,
    "quotes in attributes": lambda n: '<p lang="<a">x</p>' * n,
}


@pytest.mark.parametrize("shape", list(HTML_SHAPES))
def test_sanitize_html_is_linear(shape: str) -> None:
    assert_linear(sanitize_html, HTML_SHAPES[shape], base=100)


@pytest.mark.parametrize("shape", ["unclosed brackets", "nested divs", "quotes in attributes"])
def test_html_to_text_is_linear(shape: str) -> None:
    assert_linear(html_to_text, HTML_SHAPES[shape], base=200)


def test_extraction_of_a_220_kb_post_of_mentions_is_quick() -> None:
    # The post that stalled the server for 37 s; linear extraction reads it in well under a second.
    started = time.perf_counter()
    assert len(extract_entities("@a " * 75_000)) == 75_000
    assert time.perf_counter() - started < 5
