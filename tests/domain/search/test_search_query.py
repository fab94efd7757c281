"""Parsing search queries: terms, phrases, exclusions and operators, and the safe query texts."""

from __future__ import annotations

from datetime import UTC, datetime

from kinfolk.domain.search.plaintext import html_to_text, searchable_text
from kinfolk.domain.search.query import parse


def test_words_phrases_and_exclusions() -> None:
    parsed = parse('Quick "brown  FOX" -lazy')
    assert [(t.words, t.negated) for t in parsed.terms] == [
        (["quick"], False),
        (["brown", "fox"], False),
        (["lazy"], True),
    ]
    assert parsed.fts5() == '"quick" AND "brown fox" NOT "lazy"'
    assert parsed.websearch() == '"quick" "brown fox" -"lazy"'


def test_syntax_in_user_input_stays_text() -> None:
    parsed = parse('NEAR(a b) OR x* "unterminated')
    assert [t.words for t in parsed.terms] == [["near", "a"], ["b"], ["or"], ["x"], ["unterminated"]]
    assert parsed.fts5() == '"near a" AND "b" AND "or" AND "x" AND "unterminated"'
    assert parse("-only -negative").fts5() is None
    assert parse("   ").websearch() is None
    assert parse("!!! ???").terms == []


def test_operators() -> None:
    parsed = parse("cats from:@Bob@Example.com from:me has:media has:poll is:reply language:de in:library")
    assert [t.words for t in parsed.terms] == [["cats"]]
    assert parsed.from_accounts == ["bob@example.com", "me"]
    assert parsed.has == {"media", "poll"}
    assert parsed.is_ == {"reply"}
    assert parsed.languages == ["de"]
    assert parsed.library_only is True
    dated = parse("x before:2024-03-02 after:2024-01-01")
    assert dated.before == datetime(2024, 3, 2, tzinfo=UTC)
    assert dated.after == datetime(2024, 1, 2, tzinfo=UTC)
    during = parse("x during:2024-05-05")
    assert during.after == datetime(2024, 5, 5, tzinfo=UTC) and during.before == datetime(
        2024, 5, 6, tzinfo=UTC
    )
    # Unknown operators and bad values are searched as words.
    assert [t.words for t in parse("color:red before:someday").terms] == [
        ["color", "red"],
        ["before", "someday"],
    ]


def test_plain_text_of_statuses() -> None:
    assert html_to_text("<p>Hello<br>world &amp; <a href='x'>friends</a></p><p>bye</p>") == (
        "Hello\nworld & friends\n\nbye"
    )
    assert (
        searchable_text(text="source", content="<p>html</p>", local=True, spoiler_text="cw") == "cw\n\nsource"
    )
    assert (
        searchable_text(text="", content="<p>html</p>", local=False, poll_options=["a", "b"])
        == "html\n\na\n\nb"
    )
