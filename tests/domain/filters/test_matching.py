"""Keyword matching: the automaton reports exactly what Mastodon's alternation of regular
expressions would, on a corpus of realistic keywords and texts, without its cost."""

from __future__ import annotations

import random
import re

from tests.growth import assert_linear

from kinfolk.domain.filters import matching
from kinfolk.domain.filters.matching import compile_keywords, first_match, keyword_pattern
from kinfolk.domain.filters.models import FilterKeyword

_WORDS = [
    "cat", "Cat", "CATS", "concat", "c++", "C#", "#tag", "#Tag", "dog food", "food", "foo",
    "foo bar", "bar", "é", "École", "école", "日本", "日本語", "a.b", "-x-", "x", "İstanbul",
    "straße", "STRASSE", "naïve", "o'clock", "'", "!!", "ab", "b", "the", "and", ",", ".",
]  # fmt: skip


def _reference(keywords: list[tuple[str, bool]], text: str) -> str | None:
    pattern = re.compile(
        "|".join(f"(?:{keyword_pattern(k, w)})" for k, w in keywords), re.IGNORECASE | re.MULTILINE
    )
    match = pattern.search(text)
    return match.group(0) if match else None


def test_same_first_match_as_the_regular_expression() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        keywords = [(rng.choice(_WORDS), rng.random() < 0.6) for _ in range(rng.randint(1, 6))]
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 15)))
        if rng.random() < 0.3:
            text = text.replace(" ", "")
        matcher = compile_keywords([FilterKeyword(keyword=k, whole_word=w) for k, w in keywords])
        assert first_match(matcher, text) == _reference(keywords, text), (keywords, text)


def test_the_keyword_listed_first_wins_at_one_place() -> None:
    matcher = compile_keywords(
        [FilterKeyword(keyword="foo", whole_word=False), FilterKeyword(keyword="foo bar", whole_word=True)]
    )
    assert first_match(matcher, "a foo bar") == "foo"
    matcher = compile_keywords(
        [FilterKeyword(keyword="foo bar", whole_word=True), FilterKeyword(keyword="foo", whole_word=False)]
    )
    assert first_match(matcher, "a Foo Bar") == "Foo Bar"
    assert first_match(matcher, "a\x00foo") == "foo"  # a NUL in the text is no word boundary marker


def test_matching_is_linear_in_the_text_whatever_the_keywords() -> None:
    # Keywords sharing long prefixes with the text: the alternation paid text x keyword length.
    keywords = [
        FilterKeyword(keyword="a" * (100 + i % 150) + "b" + "a" * (154 - i % 150), whole_word=False)
        for i in range(200)
    ] + [FilterKeyword(keyword="c", whole_word=True)]
    matcher = compile_keywords(keywords)

    def match(text: str) -> str | None:
        matching._prepared.cache_clear()  # time the text's preparation too, not a cached copy
        return first_match(matcher, text)

    assert_linear(match, lambda n: "a" * n, base=1000)
