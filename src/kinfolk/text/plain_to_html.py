"""Plain text typed by a local user, turned into the HTML Mastodon would produce for it.

Used for profile notes and field values (and reusable for anything else a local user writes):
paragraphs and line breaks, links shortened the way Mastodon's web interface expects
(`invisible` scheme, 30 visible characters, `ellipsis`), hashtags, and mentions of accounts
the caller already resolved. Everything else is escaped, so the result needs no sanitising.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from kinfolk.text.spans import SortedSpans

LINK_REL = "nofollow noopener noreferrer"
VISIBLE_URL_CHARS = 30

# Characters that end a URL: whitespace, markup, quotes, and invisible controls that could make
# a link display differently from where it goes (bidi overrides, zero-width characters).
_URL_STOP = r"\s<>\"'\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
URL_RE = re.compile(
    r"(?<![\w@$#/])"
    r"((?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://[^" + _URL_STOP + r"]+"
    r"|(?:xmpp|magnet):[^" + _URL_STOP + r"/][^" + _URL_STOP + r"]*)",
    re.IGNORECASE,
)
_URL_PREFIX = re.compile(r"^(?:https?://(?:www\.)?|xmpp:)", re.IGNORECASE)
_URL_END_OK = set("/=_#+-")
_HOST_OK = re.compile(r"^(?:[\w-]+(?:\.[\w-]+)*\.?|\[[0-9a-f:.]+\])$", re.IGNORECASE)

MENTION_RE = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@(\w+(?:[.-]+\w+)*))?",
    re.IGNORECASE,
)
_TAG_SEPARATORS = "\u00b7\u30fb\u200c"
HASHTAG_RE = re.compile(
    r"(?<![=/)\w])#([\w" + _TAG_SEPARATORS + r"]*[^\W\d_][\w" + _TAG_SEPARATORS + r"]*)",
)


@dataclass(frozen=True)
class MentionLink:
    """Where a resolved mention points, and the handle to show (`acct` when not local)."""

    url: str
    username: str
    acct: str


MentionKey = tuple[str, str | None]


def escape(text: str) -> str:
    """HTML-escape the way Rails does (`'` as `&#39;`), so our output matches Mastodon's."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _trim_url(url: str) -> str:
    """Drop trailing punctuation that belongs to the sentence, keeping balanced brackets.

    Counts once and cuts by index, so a URL ending in thousands of dots or brackets is one pass.
    """
    end = len(url)
    opening, closing = url.count("("), url.count(")")
    while end:
        last = url[end - 1]
        if last.isalnum() or last in _URL_END_OK:
            break
        if last == ")":
            if opening >= closing:
                break
            closing -= 1
        elif last == "(":
            opening -= 1
        end -= 1
    return url[:end]


def _valid_url(url: str) -> bool:
    if "://" not in url:
        return len(url.split(":", 1)[1]) > 0
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    host = parts.netloc.rsplit("@", 1)[-1]
    if ":" in host and not host.endswith("]"):
        host = host.rsplit(":", 1)[0]
    return bool(host) and bool(_HOST_OK.match(host))


@dataclass(frozen=True)
class _Entity:
    start: int
    end: int
    kind: str  # "url", "mention" or "hashtag"
    value: str
    domain: str | None = None


def _entities(text: str) -> list[_Entity]:
    """URLs, mentions and hashtags, in order, none overlapping; linear in the text's length
    (each pattern scanned once, overlaps checked by walking the sorted URL spans)."""
    found: list[_Entity] = []
    taken: list[tuple[int, int]] = []
    for m in URL_RE.finditer(text):
        url = _trim_url(m.group(1))
        if url and _valid_url(url):
            found.append(_Entity(m.start(1), m.start(1) + len(url), "url", url))
            taken.append((m.start(1), m.start(1) + len(url)))

    in_url = SortedSpans(taken)
    for m in MENTION_RE.finditer(text):
        if not in_url.overlaps(m.start(), m.end()):
            found.append(_Entity(m.start(), m.end(), "mention", m.group(1), m.group(2)))
    in_url = SortedSpans(taken)
    for m in HASHTAG_RE.finditer(text):
        name = m.group(1).rstrip(_TAG_SEPARATORS)
        end = m.start(1) + len(name)
        if not in_url.overlaps(m.start(), end):
            found.append(_Entity(m.start(), end, "hashtag", name))
    found.sort(key=lambda e: e.start)
    result: list[_Entity] = []
    last_end = 0
    for entity in found:
        if entity.start >= last_end:
            result.append(entity)
            last_end = entity.end
    return result


def extract_mentions(text: str, *, local_domain: str | None = None) -> list[MentionKey]:
    """Each distinct `(lower username, lower domain or None)` mentioned, in order of appearance."""
    seen: dict[MentionKey, None] = {}
    for entity in _entities(text):
        if entity.kind == "mention":
            seen.setdefault(_mention_key(entity.value, entity.domain, local_domain), None)
    return list(seen)


def extract_hashtags(text: str) -> list[str]:
    """Each distinct hashtag name (case kept from its first use), in order of appearance."""
    seen: dict[str, str] = {}
    for entity in _entities(text):
        if entity.kind == "hashtag":
            seen.setdefault(entity.value.lower(), entity.value)
    return list(seen.values())


def _mention_key(username: str, domain: str | None, local_domain: str | None) -> MentionKey:
    host = domain.lower() if domain else None
    if host is not None and local_domain is not None and host == local_domain.lower():
        host = None
    return username.lower(), host


def link_url(url: str, *, rel_me: bool = False) -> str:
    """A link shortened as Mastodon shows it: scheme hidden, 30 characters, then an ellipsis."""
    rel = f"{LINK_REL} me" if rel_me else LINK_REL
    prefix_match = _URL_PREFIX.match(url)
    prefix = prefix_match.group(0) if prefix_match else ""
    rest = url[len(prefix) :]
    if "@" in urlsplit(url).netloc:
        # Userinfo can push the real host out of view (`https://good.example@evil.example`).
        shown, hidden, cut = rest, "", False
    else:
        shown, hidden, cut = rest[:VISIBLE_URL_CHARS], rest[VISIBLE_URL_CHARS:], len(rest) > VISIBLE_URL_CHARS
    return (
        f'<a href="{escape(url)}" target="_blank" rel="{rel}" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>'
        f'<span class="{"ellipsis" if cut else ""}">{escape(shown)}</span>'
        f'<span class="invisible">{escape(hidden)}</span></a>'
    )


def _link_mention(link: MentionLink, *, with_domain: bool) -> str:
    shown = link.acct if with_domain else link.username
    return (
        f'<span class="h-card" translate="no"><a href="{escape(link.url)}" class="u-url mention">'
        f"@<span>{escape(shown)}</span></a></span>"
    )


def _link_hashtag(name: str, url: str) -> str:
    return f'<a href="{escape(url)}" class="mention hashtag" rel="tag">#<span>{escape(name)}</span></a>'


def linkify(
    text: str,
    *,
    rel_me: bool = False,
    tag_url: Callable[[str], str] | None = None,
    mentions: Mapping[MentionKey, MentionLink] | None = None,
    local_domain: str | None = None,
    with_domains: bool = False,
) -> str:
    """Escape `text`, turning URLs, known mentions and (given `tag_url`) hashtags into links."""
    out: list[str] = []
    pos = 0
    # How many known accounts share each username: a clash shows the mention with its domain.
    per_username = Counter(username for username, _ in mentions or {})
    for entity in _entities(text):
        replacement: str | None = None
        if entity.kind == "url":
            replacement = link_url(entity.value, rel_me=rel_me)
        elif entity.kind == "hashtag" and tag_url is not None:
            replacement = _link_hashtag(entity.value, tag_url(entity.value))
        elif entity.kind == "mention" and mentions:
            key = _mention_key(entity.value, entity.domain, local_domain)
            link = mentions.get(key)
            if link is not None:
                replacement = _link_mention(link, with_domain=with_domains or per_username[key[0]] > 1)
        if replacement is None:
            continue
        out.append(escape(text[pos : entity.start]))
        out.append(replacement)
        pos = entity.end
    out.append(escape(text[pos:]))
    return "".join(out)


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


def plain_to_html(
    text: str,
    *,
    multiline: bool = True,
    rel_me: bool = False,
    tag_url: Callable[[str], str] | None = None,
    mentions: Mapping[MentionKey, MentionLink] | None = None,
    local_domain: str | None = None,
    with_domains: bool = False,
) -> str:
    """Mastodon-style HTML for plain text: `<p>` per paragraph and `<br />` per line when
    `multiline`, otherwise one escaped line; blank text gives ""."""
    if not text or not text.strip():
        return ""
    render = partial(
        linkify,
        rel_me=rel_me,
        tag_url=tag_url,
        mentions=mentions,
        local_domain=local_domain,
        with_domains=with_domains,
    )
    if not multiline:
        return render(text)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(normalised)]
    html_paragraphs = []
    for paragraph in paragraphs:
        if not paragraph.strip():
            continue
        lines = [render(line) for line in paragraph.split("\n")]
        html_paragraphs.append("<p>" + "<br />".join(lines) + "</p>")
    return "".join(html_paragraphs)
