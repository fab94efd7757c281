"""Turning a status's plain text into Mastodon-style HTML, and what the text mentions and tags.

Mastodon renders local posts itself: paragraphs and line breaks, links shortened for display,
`@mentions` in an h-card, `#hashtags` with the `mention hashtag` classes. Clients style on those
classes, so we follow them exactly. Length counts a URL as 23 characters and a remote mention as
its username only, as Mastodon's validator does.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kinfolk.text.spans import SortedSpans

URL_LENGTH = 23
# Mastodon's extractor (twitter-text) only takes URLs up to this length as links: a longer one is
# plain text and counts at its full length, so URLs cannot smuggle megabytes into a short post.
MAX_URL_LENGTH = 4096
# No host name is longer than 253 characters (plus a port): a mention naming a longer "domain"
# is left as text and counted in full, for the same reason (Mastodon would count it as `@user`).
MAX_MENTION_DOMAIN_LENGTH = 253 + len(":65535")

_URL_RE = re.compile(r"https?://[^\s<>\"'\u3000]+", re.IGNORECASE)
_MENTION_RE = re.compile(
    r"(?<![=/\w@])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@([\w.-]+\w+(?::\d+)?))?",
    re.IGNORECASE,
)
_HASHTAG_RE = re.compile(r"(?<![=/)\w#&])#([\w·]*[^\W\d_·][\w·]*)", re.UNICODE)
_TRAILING_PUNCT = ".,;:!?'\"*"


@dataclass(frozen=True)
class Entity:
    kind: str  # "url" | "mention" | "hashtag"
    start: int
    end: int
    value: str  # the URL, "user" / "user@domain", or the tag name
    username: str = ""
    domain: str | None = None


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and an unbalanced closing parenthesis, as people write them.

    Counts and cuts by index, so a URL ending in thousands of dots or brackets costs one pass.
    """
    end = len(url)
    opening, closing = url.count("("), url.count(")")
    while end:
        last = url[end - 1]
        if last in _TRAILING_PUNCT:
            end -= 1
        elif last == ")" and opening < closing:
            closing -= 1
            end -= 1
        else:
            break
    return url[:end]


def extract_entities(text: str) -> list[Entity]:
    """URLs, mentions and hashtags in order; mentions and tags inside URLs don't count.

    Linear in the length of the text: each pattern is scanned once, and the overlap checks walk
    the sorted spans taken so far with a moving pointer.
    """
    urls: list[Entity] = []
    url_spans: list[tuple[int, int]] = []
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if len(url) <= len("https://"):
            continue
        span = (match.start(), match.start() + len(url))
        url_spans.append(span)  # an overlong URL is not a link, but nothing inside it is either
        if len(url) <= MAX_URL_LENGTH:
            urls.append(Entity("url", span[0], span[1], url))

    mentions: list[Entity] = []
    mention_spans: list[tuple[int, int]] = []
    in_url = SortedSpans(url_spans)
    for match in _MENTION_RE.finditer(text):
        if in_url.overlaps(match.start(), match.end()):
            continue
        username, domain = match.group(1), match.group(2)
        if domain and len(domain) > MAX_MENTION_DOMAIN_LENGTH:
            continue
        value = f"{username}@{domain}" if domain else username
        mentions.append(
            Entity(
                "mention",
                match.start(),
                match.end(),
                value,
                username=username,
                domain=domain.lower() if domain else None,
            )
        )
        mention_spans.append((match.start(), match.end()))

    hashtags: list[Entity] = []
    # Two sorted runs: the sort merges them in one pass.
    taken = SortedSpans(sorted(url_spans + mention_spans))
    for match in _HASHTAG_RE.finditer(text):
        if taken.overlaps(match.start(), match.end()):
            continue
        hashtags.append(Entity("hashtag", match.start(), match.end(), match.group(1)))
    return sorted(urls + mentions + hashtags, key=lambda e: e.start)


def _url_savings(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, characters saved by counting it as URL_LENGTH) for each URL, in order;
    an overlong URL saves nothing but still hides what is inside it."""
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group(0))
        if len(url) <= len("https://"):
            continue
        saved = len(url) - URL_LENGTH if len(url) <= MAX_URL_LENGTH else 0
        yield match.start(), match.start() + len(url), saved


def exceeds_limit(text: str, limit: int) -> bool:
    """Whether `count_characters(text) > limit`, reading no more of the text than it takes.

    Entities are met in order while a running count is kept: once everything before a point
    already counts more than `limit`, the rest cannot bring it back, so a long post of mentions
    is refused after its first few hundred characters instead of having every entity built.
    """
    if cannot_fit(text, limit):
        return True
    saved = 0
    urls = _url_savings(text)
    url = next(urls, None)
    for match in _MENTION_RE.finditer(text):
        start, end = match.span()
        while url is not None and url[1] <= start:
            saved += url[2]
            if url[1] - saved > limit:
                return True
            url = next(urls, None)
        if url is not None and url[0] < end:
            continue  # inside a URL
        domain = match.group(2)
        if domain and len(domain) <= MAX_MENTION_DOMAIN_LENGTH:
            saved += len(domain) + 1
        if end - saved > limit:
            return True
    while url is not None:
        saved += url[2]
        if url[1] - saved > limit:
            return True
        url = next(urls, None)
    return len(text) - saved > limit


def cannot_fit(text: str, limit: int) -> bool:
    """True when `text` counts more than `limit` however its URLs and mentions are counted.

    A cheap bound checked before any parsing: a URL (at most MAX_URL_LENGTH characters) counts
    URL_LENGTH, a remote mention (a domain of at most MAX_MENTION_DOMAIN_LENGTH) at least 2 of
    its 262 characters, anything else in full; so every character counts at least
    URL_LENGTH / MAX_URL_LENGTH of one, and a longer text is refused without being read.
    """
    return len(text) * URL_LENGTH > limit * MAX_URL_LENGTH


def normalize_tag(name: str) -> str:
    """The key a hashtag is stored under: NFKC, lower-case."""
    return unicodedata.normalize("NFKC", name).lower()


def extract_hashtags(text: str) -> list[str]:
    """Distinct tag names as first written, in order."""
    seen: dict[str, str] = {}
    for entity in extract_entities(text):
        if entity.kind == "hashtag":
            seen.setdefault(normalize_tag(entity.value), entity.value)
    return list(seen.values())


def extract_mentions(text: str) -> list[tuple[str, str | None]]:
    """Distinct (username, domain) pairs in order; domain None for a bare `@user`."""
    seen: dict[tuple[str, str | None], None] = {}
    for entity in extract_entities(text):
        if entity.kind == "mention":
            seen.setdefault((entity.username.lower(), entity.domain), None)
    return list(seen)


def count_characters(text: str) -> int:
    """Mastodon's status length: every URL counts 23, `@user@domain` counts as `@user`."""
    total = len(text)
    for entity in extract_entities(text):
        span = entity.end - entity.start
        if entity.kind == "url":
            total += URL_LENGTH - span
        elif entity.kind == "mention" and entity.domain:
            total -= len(entity.domain) + 1
    return total


def render_link(url: str) -> str:
    """A link shown as Mastodon shows it: scheme hidden, long URLs cut with an ellipsis."""
    match = re.match(r"^(https?://(?:www\.)?)(.*)$", url, re.IGNORECASE)
    prefix, rest = (match.group(1), match.group(2)) if match else ("", url)
    display, hidden = rest[:30], rest[30:]
    ellipsis_class = "ellipsis" if hidden else ""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="nofollow noopener noreferrer" '
        f'translate="no"><span class="invisible">{html.escape(prefix)}</span>'
        f'<span class="{ellipsis_class}">{html.escape(display)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def render_mention(url: str, username: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{html.escape(url, quote=True)}" '
        f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>'
    )


def render_hashtag(url: str, name: str) -> str:
    return (
        f'<a href="{html.escape(url, quote=True)}" class="mention hashtag" rel="tag">'
        f"#<span>{html.escape(name)}</span></a>"
    )


MentionResolver = Callable[[str, str | None], "tuple[str, str] | None"]


def render_status_html(
    text: str,
    *,
    resolve_mention: MentionResolver,
    tag_url: Callable[[str], str],
) -> str:
    """HTML for a local status. `resolve_mention(username, domain)` gives (profile url, username)
    for a known account, or None to leave the text as written."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        return ""
    pieces: list[str] = []
    position = 0
    for entity in extract_entities(text):
        pieces.append(html.escape(text[position : entity.start], quote=False))
        original = text[entity.start : entity.end]
        if entity.kind == "url":
            pieces.append(render_link(entity.value))
        elif entity.kind == "mention":
            resolved = resolve_mention(entity.username, entity.domain)
            pieces.append(render_mention(*resolved) if resolved else html.escape(original, quote=False))
        else:
            pieces.append(render_hashtag(tag_url(entity.value), entity.value))
        position = entity.end
    pieces.append(html.escape(text[position:], quote=False))
    body = "".join(pieces)
    paragraphs = re.split(r"\n{2,}", body)
    return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs if p.strip())
