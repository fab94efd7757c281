"""Keyword matching as Mastodon does it, kept pure so it is easy to test.

A whole-word keyword only gets a word boundary on a side where it starts or ends with a word
character, so `#tag` or `c++` still match; all keywords of a filter form one case-insensitive
alternation and the first match is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kinfolk.domain.filters.models import FilterKeyword


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w$", keyword) else ""
    return f"{start}{escaped}{end}"


def compile_keywords(keywords: Iterable[FilterKeyword]) -> re.Pattern[str] | None:
    patterns = [keyword_pattern(k.keyword, k.whole_word) for k in keywords if k.keyword]
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.MULTILINE)


def first_match(pattern: re.Pattern[str] | None, text: str) -> str | None:
    if pattern is None or not text:
        return None
    match = pattern.search(text)
    return match.group(0) if match else None
