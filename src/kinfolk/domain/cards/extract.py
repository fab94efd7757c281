"""Reading links out of statuses and card details out of pages, with Python's own HTML parser.

Both read HTML someone else wrote, so both are bounded: a status's content is already within the
sanitiser's limits, and only the first `MAX_ANCHORS` links are looked at; a page is read only as
far as `MAX_PAGE_CHARS` and its first `MAX_TAGS` tags (the metadata lives in the head).

The rules are Mastodon's (FetchLinkCardService, LinkDetailsExtractor): the first link of a status
that is not a hashtag or mention (microformats: `rel=tag`, classes `u-url`/`h-card`, or the page
of an account it mentions), http(s) with a host, and not one of our own pages; the page's details
from JSON-LD (`NewsArticle`, `WebPage`), then OpenGraph and Twitter tags, then `<title>` and
`<meta name=description>`, and its oEmbed endpoint from `<link rel=alternate
type=application/json+oembed>`.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import orjson

from kinfolk.text.sanitize import sanitize_embed

MAX_ANCHORS = 100
MAX_LINK_CHARS = 2048
MAX_PAGE_CHARS = 1024 * 1024
MAX_TAGS = 5_000
MAX_JSON_LD = 3
MAX_JSON_LD_CHARS = 100_000
# Text fields of a card are cut here (Mastodon's columns are unbounded; ours are kept sane).
MAX_FIELD_CHARS = 2_000
_SKIPPED_CLASSES = re.compile(r"u-url|h-card")


def normalise_link(href: str) -> str | None:
    """`href` as a card key: http(s) with a host, scheme and host lower case, no default port,
    no fragment (never sent to the server); None when it is not such a link."""
    href = href.strip()
    if not href or len(href) > MAX_LINK_CHARS:
        return None
    try:
        parts = urlsplit(href)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host or any(c.isspace() for c in href):
        return None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def link_digest(link: str) -> str:
    return hashlib.sha256(link.encode()).hexdigest()


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a link as `normalise_link` writes it."""
    normal = normalise_link(url)
    if normal is None:
        return None
    parts = urlsplit(normal)
    return f"{parts.scheme}://{parts.netloc}"


class _AnchorReader(HTMLParser):
    """The status content's anchors, in order, with whether each is a hashtag or mention, or
    inside a quote's inline fallback (`quote-inline`, which names the quoted post)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, bool]] = []
        self._quote_depth = 0
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        classes = values.get("class", "")
        if tag != "a" and tag not in _VOID:
            self._open.append(tag)
            if "quote-inline" in classes.split() or self._quote_depth:
                self._quote_depth += 1
        if tag != "a" or len(self.anchors) >= MAX_ANCHORS:
            return
        skipped = (
            bool(self._quote_depth)
            or "tag" in values.get("rel", "").split()
            or _SKIPPED_CLASSES.search(classes) is not None
        )
        self.anchors.append((values.get("href", ""), skipped))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" or tag in _VOID or not self._open:
            return
        self._open.pop()
        if self._quote_depth:
            self._quote_depth -= 1


_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "source", "area", "col", "embed"})


def links_of(content: str, *, own_origin: str) -> list[tuple[str, str]]:
    """A status's candidate links in order, as `(href, normalised link)`: http(s) links that are
    not hashtags or microformat mentions and not on `own_origin` (Mastodon's `parse_urls`; the
    caller drops links to the accounts the status mentions)."""
    if "<a" not in content:
        return []
    reader = _AnchorReader()
    reader.feed(content)
    reader.close()
    found: list[tuple[str, str]] = []
    for href, skipped in reader.anchors:
        link = None if skipped else normalise_link(href)
        if link is not None and origin_of(link) != own_origin:
            found.append((href, link))
    return found


@dataclass
class PageDetails:
    """What a page says about itself, before any choice between its sources."""

    title: str | None = None
    metas: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    oembed: str | None = None
    lang: str | None = None
    json_ld: list[str] = field(default_factory=list)


class _PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.details = PageDetails()
        self.tags = 0
        self._in_title = False
        self._title: list[str] = []
        self._in_json_ld = False
        self._json: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if self.tags > MAX_TAGS:
            return
        values = {k: v or "" for k, v in attrs}
        details = self.details
        if tag == "meta":
            content = values.get("content")
            if content is None:
                return
            # `property` (OpenGraph) or `name` (Twitter, description): the first of each wins.
            for key in (values.get("property", ""), values.get("name", "")):
                if key:
                    details.metas.setdefault(key.strip().lower(), content)
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            href = values.get("href", "")
            if not href:
                return
            if "alternate" in rels and values.get("type", "").lower() == "application/json+oembed":
                details.oembed = details.oembed or href
            for rel in rels:
                details.links.setdefault(rel, href)
        elif tag == "title" and details.title is None:
            self._in_title = True
        elif tag == "html" and details.lang is None:
            details.lang = values.get("lang") or None
        elif tag == "script" and values.get("type", "").lower() == "application/ld+json":
            self._in_json_ld = len(details.json_ld) < MAX_JSON_LD
            self._json = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.details.title = "".join(self._title)
        elif tag == "script" and self._in_json_ld:
            self._in_json_ld = False
            text = "".join(self._json)
            if len(text) <= MAX_JSON_LD_CHARS:
                self.details.json_ld.append(text)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif self._in_json_ld:
            self._json.append(data)


def read_page(text: str) -> PageDetails:
    """The metadata of an HTML page (at most its first MAX_PAGE_CHARS characters)."""
    reader = _PageReader()
    reader.feed(text[:MAX_PAGE_CHARS])
    reader.close()
    if reader._in_title:
        reader.details.title = "".join(reader._title)
    return reader.details


_CHARSET_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


def decode_page(body: bytes, declared_charset: str | None) -> str:
    """The page as text: the charset its response declared, else the one its first bytes name,
    else UTF-8; undecodable bytes are replaced, never fatal."""
    candidates = [declared_charset]
    found = _CHARSET_META.search(body[:2048])
    if found:
        candidates.append(found.group(1).decode("ascii"))
    for charset in candidates:
        if not charset:
            continue
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


@dataclass
class CardFields:
    """A card as a fetch fills it (the row's columns of the same names)."""

    url: str
    type: str = "link"
    title: str = ""
    description: str = ""
    author_name: str = ""
    author_url: str = ""
    provider_name: str = ""
    provider_url: str = ""
    html: str = ""
    width: int = 0
    height: int = 0
    embed_url: str = ""
    language: str | None = None
    published_at: datetime | None = None
    image_remote_url: str | None = None
    image_description: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.title or self.html)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return html_lib.unescape(value).strip()[:MAX_FIELD_CHARS]


def absolute_url(base: str, value: Any, *, same_host: bool = False) -> str | None:
    """`value` resolved against `base` when it is an http(s) URL (on `base`'s host only, with
    `same_host`); None otherwise."""
    if not isinstance(value, str) or not value.strip() or value.strip() == "null":
        return None
    try:
        url = urljoin(base, value.strip())
        parts, base_host = urlsplit(url), urlsplit(base).hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_LINK_CHARS:
        return None
    if same_host and parts.hostname != base_host:
        return None
    return url


def _int(value: Any) -> int:
    try:
        number = int(str(value).strip()[:9])
    except (TypeError, ValueError):
        return 0
    return number if 0 <= number <= 100_000 else 0


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_LANGUAGE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


def _language(value: Any) -> str | None:
    """A page's language as Mastodon keeps it: its primary subtag, when it is one."""
    if not isinstance(value, str):
        return None
    found = _LANGUAGE.match(value.strip())
    return found.group(1).lower() if found else None


_STRUCTURED_TYPES = ("NewsArticle", "WebPage")


def _structured(details: PageDetails) -> dict[str, Any]:
    """The first JSON-LD object of a supported type (pages often hold several, some broken)."""
    for text in details.json_ld:
        try:
            data = orjson.loads(text.strip())
        except orjson.JSONDecodeError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and item.get("@type") in _STRUCTURED_TYPES:
                return item
    return {}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _player_iframe(src: str, width: int, height: int) -> str:
    attrs = {
        "src": src,
        "width": str(width),
        "height": str(height),
        "allowfullscreen": "true",
        "allowtransparency": "true",
        "scrolling": "no",
        "frameborder": "0",
    }
    rendered = " ".join(f'{k}="{html_lib.escape(v, quote=True)}"' for k, v in attrs.items())
    return f"<iframe {rendered}></iframe>"


def card_from_page(page_url: str, details: PageDetails) -> CardFields:
    """Mastodon's LinkDetailsExtractor: JSON-LD first, then OpenGraph/Twitter, then the page."""
    metas = details.metas
    data = _structured(details)
    author = _first(data.get("author"))
    author = author if isinstance(author, dict) else {}
    publisher = _first(data.get("publisher"))
    publisher = publisher if isinstance(publisher, dict) else {}
    language = data.get("inLanguage")
    language = _first(language)
    if isinstance(language, dict):
        language = language.get("alternateName") or language.get("name")
    canonical = absolute_url(page_url, details.links.get("canonical") or metas.get("og:url"), same_host=True)
    player = absolute_url(page_url, metas.get("twitter:player"))
    width, height = _int(metas.get("twitter:player:width")), _int(metas.get("twitter:player:height"))
    fields = CardFields(
        url=canonical or page_url,
        type="video" if player else "link",
        title=_text(data.get("headline") or metas.get("og:title") or details.title),
        description=_text(data.get("description") or metas.get("og:description") or metas.get("description")),
        author_name=_text(author.get("name") or metas.get("og:author") or metas.get("og:author:username")),
        author_url=absolute_url(page_url, author.get("url")) or "",
        provider_name=_text(publisher.get("name") or metas.get("og:site_name")),
        provider_url=absolute_url(page_url, _host_url(metas.get("og:site"))) or "",
        html=_player_iframe(player, width, height) if player else "",
        width=width if player else 0,
        height=height if player else 0,
        embed_url=absolute_url(page_url, metas.get("twitter:player:stream")) or "",
        language=_language(language or metas.get("og:locale") or details.lang),
        published_at=_datetime(data.get("datePublished") or metas.get("article:published_time")),
        image_remote_url=absolute_url(page_url, metas.get("og:image")),
        image_description=_text(metas.get("og:image:alt")),
    )
    return fields


def _host_url(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    value = value.strip()
    return value if value.startswith(("http://", "https://")) else f"http://{value}"


def card_from_oembed(page_url: str, endpoint: str, embed: dict[str, Any]) -> CardFields | None:
    """An oEmbed answer as a card (Mastodon's `attempt_oembed`): `link`, `photo` and `video`
    only (a `rich` embed relies on scripts); None when it says nothing usable."""
    kind = embed.get("type")
    fields = CardFields(
        url=page_url,
        type=kind if isinstance(kind, str) else "",
        title=_text(embed.get("title")),
        author_name=_text(embed.get("author_name")),
        author_url=absolute_url(endpoint, embed.get("author_url")) or "",
        provider_name=_text(embed.get("provider_name")),
        provider_url=absolute_url(endpoint, embed.get("provider_url")) or "",
    )
    thumbnail = absolute_url(endpoint, embed.get("thumbnail_url"))
    if kind == "link":
        fields.image_remote_url = thumbnail
    elif kind == "photo":
        photo = absolute_url(endpoint, embed.get("url"))
        if photo is None:
            return None
        fields.embed_url = photo
        fields.image_remote_url = photo
        fields.width, fields.height = _int(embed.get("width")), _int(embed.get("height"))
    elif kind == "video":
        fields.width, fields.height = _int(embed.get("width")), _int(embed.get("height"))
        embed_html = embed.get("html")
        fields.html = sanitize_embed(embed_html if isinstance(embed_html, str) else "")
        fields.image_remote_url = thumbnail
    else:
        return None
    return fields if fields.usable else None
