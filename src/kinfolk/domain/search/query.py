"""Reading a status search query the way Mastodon's search box does, for either database.

Words must all match; `"quoted phrases"` match in order; `-word` excludes; a few operators narrow
the search (`from:`, `has:`, `is:`, `language:`, `before:`, `after:`, `during:`, `in:`). The terms
become an FTS5 MATCH expression on SQLite and a `websearch_to_tsquery` text on PostgreSQL, both
built only from quoted terms so that no user input is ever read as query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_OPERATOR = re.compile(r"^(from|has|is|language|before|after|during|in):(.+)$", re.IGNORECASE)
# What the full-text tokenizers treat as a word: runs of letters and digits.
_WORD = re.compile(r"\w+")
MAX_TERMS = 32
# Longer queries are refused before they are read (a URL to resolve is the longest legitimate one).
MAX_QUERY_CHARS = 4096


@dataclass
class Term:
    words: list[str]
    negated: bool = False


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    from_accounts: list[str] = field(default_factory=list)
    has: set[str] = field(default_factory=set)
    is_: set[str] = field(default_factory=set)
    languages: list[str] = field(default_factory=list)
    before: datetime | None = None
    after: datetime | None = None
    library_only: bool = False

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negated]

    @property
    def negative(self) -> list[Term]:
        return [t for t in self.terms if t.negated]

    def fts5(self) -> str | None:
        """An FTS5 MATCH expression, or None when nothing positive is asked for."""
        if not self.positive:
            return None

        def phrase(term: Term) -> str:
            return '"' + " ".join(w.replace('"', '""') for w in term.words) + '"'

        expression = " AND ".join(phrase(t) for t in self.positive)
        for term in self.negative:
            expression += " NOT " + phrase(term)
        return expression

    def websearch(self) -> str | None:
        """A `websearch_to_tsquery` text, or None when nothing positive is asked for."""
        if not self.positive:
            return None
        parts = []
        for term in self.terms:
            quoted = '"' + " ".join(term.words) + '"'
            parts.append(("-" if term.negated else "") + quoted)
        return " ".join(parts)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_midnight(day: date) -> datetime:
    """The midnight ending `day`; for 9999-12-31, the last representable instant instead of an
    OverflowError (nothing is posted after it either way)."""
    try:
        return _midnight(day) + timedelta(days=1)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _operator(parsed: ParsedQuery, name: str, value: str, negated: bool) -> bool:
    """Apply one operator; False if it is not one we understand (it is then searched as text)."""
    name = name.lower()
    if negated:
        return False
    if name in ("from", "language") and len(parsed.from_accounts) + len(parsed.languages) >= MAX_TERMS:
        return True  # understood, but past the bound on what one query may ask for
    if name == "from":
        parsed.from_accounts.append(value.lstrip("@").lower())
    elif name == "has" and value.lower() in ("media", "poll", "image", "video", "audio"):
        parsed.has.add(value.lower())
    elif name == "is" and value.lower() in ("reply", "sensitive"):
        parsed.is_.add(value.lower())
    elif name == "language":
        parsed.languages.append(value.lower())
    elif name in ("before", "after", "during") and (day := _day(value)) is not None:
        if name == "before":
            parsed.before = _midnight(day)
        elif name == "after":
            parsed.after = _next_midnight(day)
        else:
            parsed.after, parsed.before = _midnight(day), _next_midnight(day)
    elif name == "in" and value.lower() in ("library", "all"):
        parsed.library_only = value.lower() == "library"
    else:
        return False
    return True


def parse(query: str) -> ParsedQuery:
    """One pass over the query (callers refuse queries over MAX_QUERY_CHARS); at most MAX_TERMS
    terms and MAX_TERMS account and language operators are kept."""
    parsed = ParsedQuery()
    for match in _TOKEN.finditer(query):
        negated = match.group(1) == "-"
        phrase, bare = match.group(2), match.group(3)
        if bare is not None:
            operator = _OPERATOR.match(bare)
            if operator and _operator(parsed, operator.group(1), operator.group(2), negated):
                continue
        words = [w.lower() for w in _WORD.findall(phrase if phrase is not None else bare or "")]
        if words and len(parsed.terms) < MAX_TERMS:
            parsed.terms.append(Term(words=words, negated=negated))
    return parsed
