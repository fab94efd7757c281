"""One allow-list for HTML that reaches clients: Mastodon's strict set, enforced by nh3 (ammonia).

Remote statuses, remote bios and anything else we did not write ourselves pass through
`sanitize_html` before they are stored or shown. The allow-list follows what Mastodon lets
through, so that clients built for Mastodon render our HTML the same way.
"""

from __future__ import annotations

import re

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


def sanitize_html(html: str) -> str:
    """Safe HTML for clients: only allow-listed tags, attributes, classes and link schemes.

    Never raises on malformed input: ammonia parses like a browser and re-serialises.
    """
    if not html:
        return ""
    return _unwrap_dead_links(_cleaner.clean(html))


# Anchors cannot nest once parsed, so each opening tag pairs with the next closing one.
_ANCHOR = re.compile(r"<a\b((?:[^>\"]|\"[^\"]*\")*)>(.*?)</a>", re.DOTALL)
# Attribute values are serialised with quotes escaped, so `href="` only starts a real attribute.
_HREF = re.compile(r"\shref=\"")


def _unwrap_dead_links(html: str) -> str:
    """A link whose href was refused becomes its text, as Mastodon renders it."""
    if "<a" not in html:
        return html
    return _ANCHOR.sub(lambda m: m.group(0) if _HREF.search(m.group(1)) else m.group(2), html)
