"""The small readers every parser is built from: ids, text, URLs, dates, types, numbers.

Documents come from any server, so every value may have any JSON type: a reader takes whatever is
there and answers the value it wants or nothing (None, an empty tuple), never an exception. Only
the parse functions decide that a missing value makes a document unusable, and say so with the
one exception type, `ParseError`.

URLs are the security boundary: `https_url` accepts only http(s) with a host, refuses userinfo
(`https://victim.example@attacker.example/` names the attacker) and backslashes (which browsers
read as slashes), and normalises the host (IDNA, lower case, no trailing dot, no default port) so
that every origin comparison after it (`same_origin`) compares like with like.

JSON-LD is never expanded and no `@context` is ever fetched: terms are read by their usual compact
names, as every fediverse server writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import idna

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})
_AS_PREFIXES = ("https://www.w3.org/ns/activitystreams#", "as:")

MAX_URL_LENGTH = 2048
"""Longer strings are not taken as URLs (browsers and proxies refuse far shorter ones anyway)."""
MAX_LIST = 100
"""The default number of entries of a list value that a reader looks at; the rest is ignored."""
MAX_TYPE_ENTRIES = 8
MAX_TYPE_LENGTH = 64
MAX_DATE_LENGTH = 64

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", re.DOTALL)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_ASCII_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f\\]")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,4}")


class ParseError(ValueError):
    """A document this server cannot use; `reason` says why, in words fit for a log line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def as_list(value: object, limit: int = MAX_LIST) -> list[Any]:
    """A single value or an array, as a list of at most `limit` entries (null: empty).

    ActivityStreams lets any property hold one value or an array of them; slicing first keeps the
    work bounded whatever the array's length.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value[:limit]
    return [value]


def https_url(value: object) -> str | None:
    """`value` as a normalised http(s) URL, or None for anything else.

    Refused: other schemes (javascript:, data:, file:, ...), no host, userinfo, whitespace, control
    characters, backslashes, bad ports, hosts that are not valid domain names or IP literals. Only
    the scheme and the authority are rewritten; path, query and fragment are kept as they came.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    if _UNSAFE_URL.search(value):
        return None
    match = _URL.fullmatch(value)
    if match is None:
        return None
    scheme, netloc, rest = match.group(1), match.group(2), match.group(3)
    if scheme in ("http", "https") and _ASCII_HOST.fullmatch(netloc):
        return value  # the common case, already normal
    scheme = scheme.lower()
    if scheme not in ("http", "https") or not netloc or "@" in netloc:
        return None
    authority = _normal_authority(scheme, netloc)
    return None if authority is None else f"{scheme}://{authority}{rest}"


def _normal_authority(scheme: str, netloc: str) -> str | None:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None
        host, after = netloc[1:end], netloc[end + 1 :]
        if not host or not _IPV6.fullmatch(host):
            return None
        name = f"[{host.lower()}]"
        port_text = after[1:] if after.startswith(":") else None
        if after and port_text is None:
            return None
    else:
        host, colon, port_text_raw = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
        port_text = port_text_raw if colon else None
        normal = _normal_host(host)
        if normal is None:
            return None
        name = normal
    if port_text is None or port_text == "":
        return name
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        return None
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    if (scheme, port) in (("https", 443), ("http", 80)):
        return name
    return f"{name}:{port}"


def _normal_host(host: str) -> str | None:
    host = host[:-1] if host.endswith(".") else host
    if not host or len(host) > 253:
        return None
    if host.isascii():
        host = host.lower()
        if not _ASCII_HOST.fullmatch(host):
            return None
        return host
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        return None
    return encoded if _ASCII_HOST.fullmatch(encoded) else None


def origin(url: object) -> str | None:
    """`scheme://host[:port]` of a URL after normalisation, or None when it is not an http(s) URL."""
    normal = https_url(url)
    match = None if normal is None else _URL.fullmatch(normal)
    return None if match is None else f"{match.group(1)}://{match.group(2)}"


def host(url: object) -> str | None:
    """The normalised host (with its port when not the default) of an http(s) URL."""
    normal = https_url(url)
    match = None if normal is None else _URL.fullmatch(normal)
    return None if match is None else match.group(2)


def same_origin(a: object, b: object) -> bool:
    """Whether two URLs share scheme, normalised host and port; False when either is not a URL."""
    left = origin(a)
    return left is not None and left == origin(b)


def _ref(value: object) -> str | None:
    """The id an entry names: a string itself, an object's `id` (or a Link's `href`)."""
    if isinstance(value, str):
        if value in _PUBLIC_ALIASES:
            return PUBLIC
        return https_url(value)
    if isinstance(value, Mapping):
        found = _ref(value.get("id")) if isinstance(value.get("id"), str) else None
        if found is None and isinstance(value.get("href"), str):
            found = _ref(value.get("href"))
        return found
    return None


def ids(value: object, limit: int = MAX_LIST) -> list[str]:
    """The http(s) ids named by a string, an object or an array of either (the public collection in
    any of its spellings becomes `PUBLIC`); entries that name no usable id are skipped."""
    found: dict[str, None] = {}
    for entry in as_list(value, limit):
        ref = _ref(entry)
        if ref is not None:
            found[ref] = None
    return list(found)


def first_id(value: object) -> str | None:
    """The first usable id named by `value` (see `ids`)."""
    for entry in as_list(value):
        ref = _ref(entry)
        if ref is not None:
            return ref
    return None


def clean(value: str) -> str:
    """A string fit for every database: NUL characters removed (PostgreSQL refuses them in text),
    lone surrogates (which the JSON may encode as escapes) replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATE.sub("\ufffd", value)
    return value


def text(value: object, limit: int | None = None) -> str | None:
    """A string, or the first string of a language map (`contentMap`, `nameMap`); None otherwise.

    With `limit`, longer text is cut to `limit` characters (used for short fields such as names,
    where keeping the start is better than losing the whole document).
    """
    found: str | None = None
    if isinstance(value, str):
        found = value
    elif isinstance(value, Mapping):
        for entry in islice(value.values(), MAX_LIST):
            if isinstance(entry, str):
                found = entry
                break
    if found is None:
        return None
    if limit is not None and len(found) > limit:
        found = found[:limit]
    return clean(found)


def language_map(value: object) -> tuple[str | None, str | None]:
    """(language, text) from a language map: the first entry whose key is a plausible BCP 47 tag."""
    if not isinstance(value, Mapping):
        return None, None
    for key, entry in islice(value.items(), MAX_LIST):
        if isinstance(entry, str):
            language = key if isinstance(key, str) and _LANGUAGE.fullmatch(key) else None
            return language, clean(entry)
    return None, None


def language_of(value: object, content: str | None) -> str | None:
    """The language whose map entry is `content` (else the map's first language)."""
    if not isinstance(value, Mapping):
        return None
    first: str | None = None
    for key, entry in islice(value.items(), MAX_LIST):
        if not isinstance(key, str) or not _LANGUAGE.fullmatch(key):
            continue
        if entry == content:
            return key
        first = first or key
    return first


def types(doc: Mapping[str, Any]) -> list[str]:
    """The `type` of a document as a list of compact names (a string or an array; `as:` prefixes and
    the full ActivityStreams namespace are removed)."""
    found: list[str] = []
    for entry in as_list(doc.get("type"), MAX_TYPE_ENTRIES):
        if isinstance(entry, str) and 0 < len(entry) <= MAX_TYPE_LENGTH:
            for prefix in _AS_PREFIXES:
                if entry.startswith(prefix):
                    entry = entry[len(prefix) :]
                    break
            found.append(entry)
    return found


def first_type(doc: Mapping[str, Any], known: Iterable[str]) -> str | None:
    """The first of the document's types that is in `known`."""
    wanted = set(known)
    for name in types(doc):
        if name in wanted:
            return name
    return None


def has_type(value: object, name: str) -> bool:
    """Whether `value` is an object one of whose types is `name`."""
    return isinstance(value, Mapping) and name in types(value)


def datetime_value(value: object) -> datetime | None:
    """An ISO 8601 / RFC 3339 date-time as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value or len(value) > MAX_DATE_LENGTH:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def boolean(value: object) -> bool | None:
    """A JSON boolean, or None for anything else (a string "true" is not a boolean)."""
    return value if isinstance(value, bool) else None


def count(value: object, maximum: int = 1 << 62) -> int | None:
    """A non-negative integer (an integral float too), or None; values above `maximum` are clamped."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        value = int(value)
    if not isinstance(value, int) or value < 0:
        return None
    return min(value, maximum)


def short_string(value: object, limit: int) -> str | None:
    """A non-empty string of at most `limit` characters, else None (not cut: used for tokens such as
    media types, blurhashes and PEM keys, where a cut value would be wrong rather than short)."""
    if isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value:
        cleaned = clean(value)
        return cleaned if cleaned == value else None
    return None


def link_url(value: object, *, prefer: str = "text/html", _nested: bool = False) -> str | None:
    """The URL of a `url`/`icon`/`image`-like property: a string, a Link or Image object (`href` or
    `url`), or an array of them; the entry whose `mediaType` (or `mimeType`) is `prefer` wins, else the first.

    An object's own `url` may be one more such value (PeerTube nests Links so), but only once: a
    deeper nesting is ignored, so no document can make this recurse."""
    first: str | None = None
    for entry in as_list(value, 32):
        found: str | None = None
        media_type: object = None
        if isinstance(entry, str):
            found = https_url(entry)
        elif isinstance(entry, Mapping):
            media_type = entry.get("mediaType") or entry.get("mimeType")  # Funkwhale, Prismo: mimeType
            for key in ("href", "url"):
                inner = entry.get(key)
                if isinstance(inner, str):
                    found = https_url(inner)
                elif key == "url" and not _nested and isinstance(inner, list | Mapping):
                    found = link_url(inner, prefer=prefer, _nested=True)
                if found is not None:
                    break
        if found is None:
            continue
        if media_type == prefer:
            return found
        first = first or found
    return first
