"""One allow-list for HTML that reaches clients: Mastodon's strict set, enforced by nh3 (ammonia).

Remote statuses, remote bios and anything else we did not write ourselves pass through
`sanitize_html` before they are stored or shown. The allow-list follows what Mastodon lets
through, so that clients built for Mastodon render our HTML the same way.
"""

from __future__ import annotations

import html as html_lib
import re
from itertools import islice

import nh3

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "blockquote",
        "code",
        "b",
        "strong",
        "u",
        "i",
        "em",
        "ul",
        "ol",
        "li",
        "ruby",
        "rt",
        "rp",
    }
)
# Schemes a link may use; anything else (javascript:, data:, file:, relative paths) loses its href.
LINK_SCHEMES = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)
LINK_REL = "nofollow noopener noreferrer"

_ATTRIBUTES = {
    "*": {"lang"},
    "a": {"href", "class", "translate"},
    "span": {"class", "translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "p": {"class"},
}
# Microformats (h-card, u-url...), Mastodon's semantic classes and its link-shortening classes.
_CLASS_OK = re.compile(r"^(?:(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible|quote-inline)$")
_CLASS_SPLIT = re.compile(r"[\t\n\f\r ]+")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in _CLASS_SPLIT.split(value) if _CLASS_OK.match(c)]
        return " ".join(kept) or None
    if attribute == "translate":
        return "no" if value == "no" else None
    if attribute in ("start", "value"):
        return value if value.strip().lstrip("-").isdigit() else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "template", "iframe", "object", "embed", "noscript", "title"},
    attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


# Bounds on what goes through the HTML parser. Parsing is linear in the length of flat HTML but
# grows with the square of the nesting (each start tag checks the open elements: 100,000
# unclosed `<div>`s took 90 s); remote posts are far below both bounds.
MAX_HTML_CHARS = 100_000
MAX_HTML_TAGS = 2_000
_START_TAG = re.compile(r"<[A-Za-z]")


def sanitize_html(html: str) -> str:
    """Safe HTML for clients: only allow-listed tags, attributes, classes and link schemes.

    Never raises on malformed input: ammonia parses like a browser and re-serialises. HTML
    longer than MAX_HTML_CHARS or with more than MAX_HTML_TAGS tags is not parsed at all: it is
    kept as its escaped text, in paragraphs, which costs one pass.
    """
    if not html:
        return ""
    if len(html) > MAX_HTML_CHARS or _too_many_tags(html):
        return text_only_html(html)
    return _unwrap_dead_links(_cleaner.clean(html))


def _too_many_tags(html: str) -> bool:
    """Whether `html` has more than MAX_HTML_TAGS start tags (counted without parsing: every
    `<` followed by a letter could open an element)."""
    return next(islice(_START_TAG.finditer(html), MAX_HTML_TAGS, None), None) is not None


_TEXT_BREAK = re.compile(r"<br\b[^<>]*>", re.IGNORECASE)
_TEXT_PARAGRAPH = re.compile(r"</(?:p|div|blockquote|li|h[1-6]|pre)\s*>", re.IGNORECASE)
# `[^<>]`: a `<` with no `>` after it is skipped in one step, so stripping is one pass.
_TEXT_TAG = re.compile(r"<[^<>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n")


def text_only_html(html: str) -> str:
    """The text of `html` (tags dropped, entities decoded) escaped again, in paragraphs and
    lines: safe and linear, for input too large to be worth parsing."""
    text = _TEXT_BREAK.sub("\n", html)
    text = _TEXT_PARAGRAPH.sub("\n\n", text)
    text = html_lib.unescape(_TEXT_TAG.sub("", text)).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text)]
    return "".join(
        "<p>" + "<br>".join(html_lib.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p
    )


# Anchors cannot nest once parsed, so each opening tag pairs with the next closing one.
_ANCHOR = re.compile(r"<a\b((?:[^>\"]|\"[^\"]*\")*)>(.*?)</a>", re.DOTALL)
# Attribute values are serialised with quotes escaped, so `href="` only starts a real attribute.
_HREF = re.compile(r"\shref=\"")


def _unwrap_dead_links(html: str) -> str:
    """A link whose href was refused becomes its text, as Mastodon renders it."""
    if "<a" not in html:
        return html
    return _ANCHOR.sub(lambda m: m.group(0) if _HREF.search(m.group(1)) else m.group(2), html)


# oEmbed players: an iframe and nothing else, with an http(s) source, as Mastodon's
# sanitizer keeps of an embed. An embed longer than any real one is dropped whole.
_EMBED_ATTRIBUTES = {"src", "width", "height", "allowfullscreen", "frameborder", "scrolling"}
_embed_cleaner = nh3.Cleaner(
    tags={"iframe"},
    attributes={"iframe": _EMBED_ATTRIBUTES},
    url_schemes={"http", "https"},
    link_rel=None,
)
MAX_EMBED_CHARS = 10_000


def sanitize_embed(html: str) -> str:
    """A link card's embed HTML: an iframe only (a provider's scripts never reach clients)."""
    if not html or len(html) > MAX_EMBED_CHARS:
        return ""
    cleaned = _embed_cleaner.clean(html).strip()
    return cleaned if cleaned.startswith("<iframe") and ' src="' in cleaned else ""
