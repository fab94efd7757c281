"""The search query parser is one pass, and keeps bounded lists whatever the query's length."""

from __future__ import annotations

from tests.growth import assert_linear

from kinfolk.domain.search.query import MAX_TERMS, parse

_OPERATORS = 'from:@a language:en -x "p q" has:media is:reply before:2024-01-01 in:library "unclosed '


def test_parsing_a_query_of_operators_is_linear() -> None:
    assert_linear(parse, lambda n: _OPERATORS * n, base=20)


def test_terms_and_operators_are_bounded() -> None:
    parsed = parse(_OPERATORS * 1000)
    assert len(parsed.terms) <= MAX_TERMS
    assert len(parsed.from_accounts) + len(parsed.languages) <= MAX_TERMS
