"""Fetching one JSON document from another server, within limits a hostile server can't stretch.

Remote servers choose the URLs we fetch (actor ids, key ids, `inReplyTo`, WebFinger links), and
what they answer. So every fetch here:

- follows redirects itself (at most `max_redirects`), checking each hop's URL (`check_url`) and
  letting the guarded resolver check the addresses it connects to, and signing each hop anew
  through the caller's `headers_for(url)` (a signature names the request target, so one made for
  the first URL is worthless at the second);
- runs under one total deadline (redirects included), besides the connect and per-read timeouts,
  so a server dripping a byte every few seconds is cut off at the deadline (checklist 40);
- counts the body *after* aiohttp's decompression, chunk by chunk, and stops past `max_bytes`, so a
  small gzip that inflates to a gigabyte is refused having held only a chunk (checklist 41);
- accepts only the content types the caller names (ActivityStreams by default: a JSON file served
  as `text/html`, `application/json` or `image/png` is not an object, checklist 35-36);
- checks origins (FEP-fe34): a document's `id` must have the origin of the URL it was finally
  served from, and with `expected_id` both must have that id's origin, so a redirect to another
  server serving `{"id": <the first URL>}` is refused (checklist 34, 37).

Failures are one exception, `FetchError`, saying whether trying again later can help.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson

from kinfolk.infra.outbound import DisallowedDestination, Network, check_url, disallowed_cause

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
DEADLINE_SECONDS = 30.0
CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
# A server's Retry-After is honoured up to this; past it (or for a date years ahead) we would
# stop talking to it on its word alone.
RETRY_AFTER_CAP_SECONDS = 6 * 3600.0
CHUNK_BYTES = 64 * 1024

ACTIVITY_ACCEPT = (
    'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
)
# `application/ld+json` is accepted with any profile (some servers send none or their own).
ACTIVITY_TYPES: frozenset[str] = frozenset({"application/activity+json", "application/ld+json"})
# WebFinger and NodeInfo are plain JSON documents; callers fetching them widen the types.
JRD_TYPES: frozenset[str] = frozenset({"application/jrd+json", "application/json"})
JSON_TYPES: frozenset[str] = frozenset({"application/json"})

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRYABLE_4XX = frozenset({408, 429})


class FetchError(Exception):
    """A fetch that gave no usable document.

    `permanent`: asking again will give the same answer (a 404, a wrong type, a private address);
    otherwise a later try may work, not before `retry_after` seconds when the server said so."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.permanent = permanent
        self.retry_after = retry_after
        # The URL that answered `status`, after redirects (a 404 speaks only for its origin).
        self.url = url

    def __repr__(self) -> str:
        return (
            f"FetchError({self.reason!r}, status={self.status}, permanent={self.permanent}, "
            f"retry_after={self.retry_after})"
        )


@dataclass(frozen=True, slots=True)
class FetchedDocument:
    """A JSON object and where it finally came from (after redirects)."""

    final_url: str
    status: int
    json: dict[str, Any]
    content_type: str


def origin(url: str) -> str:
    """`scheme://host[:port]` normalised for comparison: lower case, IDNA, no trailing dot, no
    default port, no userinfo (`https://victim@attacker/` is attacker's). Raises ValueError for
    what has no origin."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"{url!r} has no http(s) origin")
    if not host.startswith("["):
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise ValueError(f"{url!r} has an invalid host name") from exc
    port = parts.port  # ValueError for a port out of range
    if port is None or port == (443 if scheme == "https" else 80):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    try:
        return origin(a) == origin(b)
    except ValueError:
        return False


def parse_retry_after(
    value: str | None, *, now: datetime | None = None, cap: float = RETRY_AFTER_CAP_SECONDS
) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date, clamped to [0, cap];
    None when absent or unreadable (the caller's own backoff applies then)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(int(value[:12]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap)


def media_type(content_type: str) -> str:
    """`Application/LD+JSON; profile="..."` -> `application/ld+json`."""
    return content_type.split(";", 1)[0].strip().lower()


def failure_for_status(status: int, retry_after: str | None, url: str | None = None) -> FetchError:
    """What an unsuccessful HTTP status means for trying again: a 4xx other than 408/429 won't
    change; 408, 429 and 5xx may (after Retry-After when given)."""
    permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
    return FetchError(
        f"HTTP {status}",
        status=status,
        permanent=permanent,
        retry_after=None if permanent else parse_retry_after(retry_after),
        url=url,
    )


def connection_failure(exc: BaseException) -> FetchError:
    """aiohttp's and asyncio's errors as FetchError; the guard's refusal is permanent."""
    refused = disallowed_cause(exc)
    if refused is not None:
        return FetchError(f"refused destination: {refused}", permanent=True)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return FetchError("timed out")
    return FetchError(f"connection failed: {exc.__class__.__name__}")


async def fetch_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    allowed: list[Network],
    headers_for: Callable[[str], Mapping[str, str]] | None = None,
    accept: str = ACTIVITY_ACCEPT,
    content_types: Collection[str] = ACTIVITY_TYPES,
    expected_id: str | None = None,
    check_id_origin: bool = True,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    deadline: float = DEADLINE_SECONDS,
    connect_timeout: float = CONNECT_SECONDS,
    read_timeout: float = READ_SECONDS,
) -> FetchedDocument:
    """GET `url` and return the JSON object it (finally) serves, or raise FetchError.

    `allowed`: the private networks the operator allows (the session's resolver must be the
    guarded one with the same list; literal-IP hops are checked here). `headers_for(url)` gives
    each hop's headers (signature included); `Accept` is set from `accept` unless it gives one.
    `expected_id`: the id the caller is resolving; the final URL and the document's `id` must
    both have its origin. `check_id_origin` (on by default) requires a document's `id`, when it
    has one, to share the final URL's origin; WebFinger and NodeInfo documents have none."""
    try:
        async with asyncio.timeout(deadline):
            return await _fetch(
                session,
                url,
                allowed=allowed,
                headers_for=headers_for,
                accept=accept,
                content_types={media_type(t) for t in content_types},
                expected_id=expected_id,
                check_id_origin=check_id_origin,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=connect_timeout, sock_read=read_timeout
                ),
            )
    except FetchError:
        raise
    except (aiohttp.ClientError, OSError, TimeoutError, DisallowedDestination) as exc:
        raise connection_failure(exc) from exc


async def _fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    allowed: list[Network],
    headers_for: Callable[[str], Mapping[str, str]] | None,
    accept: str,
    content_types: set[str],
    expected_id: str | None,
    check_id_origin: bool,
    max_bytes: int,
    max_redirects: int,
    timeout: aiohttp.ClientTimeout,
) -> FetchedDocument:
    seen: set[str] = set()
    for _hop in range(max_redirects + 1):
        _check_destination(url, allowed)
        if url in seen:
            raise FetchError("redirect loop", permanent=True)
        seen.add(url)
        headers = {"Accept": accept, **(headers_for(url) if headers_for else {})}
        async with session.get(url, headers=headers, allow_redirects=False, timeout=timeout) as response:
            status = response.status
            if status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {status} without Location", status=status, permanent=True)
                url = urljoin(url, location.strip())
                continue
            if not 200 <= status < 300:
                raise failure_for_status(status, response.headers.get("Retry-After"), url)
            content_type = response.headers.get("Content-Type", "")
            if media_type(content_type) not in content_types:
                raise FetchError(
                    f"unexpected content type {content_type[:100]!r}", status=status, permanent=True
                )
            body = await read_capped(response, max_bytes)
        document = _parse(body, status)
        _check_origins(url, document, expected_id=expected_id, check_id_origin=check_id_origin, status=status)
        return FetchedDocument(final_url=url, status=status, json=document, content_type=content_type)
    raise FetchError(f"more than {max_redirects} redirects", permanent=True)


def _check_destination(url: str, allowed: list[Network]) -> None:
    try:
        check_url(url, allowed)
    except DisallowedDestination as exc:
        raise FetchError(f"refused destination: {exc}", permanent=True) from exc
    except ValueError as exc:  # a port out of range, a malformed IPv6 literal
        raise FetchError(f"invalid URL: {exc}", permanent=True) from exc


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body as aiohttp decompresses it, refused as soon as it passes `max_bytes`.

    The declared length is only trusted to refuse early: it counts compressed bytes, and a server
    may lie about it or send none."""
    declared = response.content_length
    if declared is not None and declared > max_bytes and not response.headers.get("Content-Encoding"):
        raise FetchError(f"body larger than {max_bytes} bytes", status=response.status, permanent=True)
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        received += len(chunk)
        if received > max_bytes:
            raise FetchError(f"body larger than {max_bytes} bytes", status=response.status, permanent=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes, status: int) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FetchError("invalid JSON", status=status, permanent=True) from exc
    if not isinstance(document, dict):
        raise FetchError("JSON is not an object", status=status, permanent=True)
    return document


def _check_origins(
    final_url: str, document: dict[str, Any], *, expected_id: str | None, check_id_origin: bool, status: int
) -> None:
    """FEP-fe34: a document speaks only for its own origin, the one it was finally served from."""
    doc_id = document.get("id")
    if expected_id is not None:
        if not same_origin(final_url, expected_id):
            raise FetchError(
                "redirected to another origin than the expected id's", status=status, permanent=True
            )
        if not isinstance(doc_id, str) or not same_origin(doc_id, expected_id):
            raise FetchError(
                "document id has another origin than the expected id", status=status, permanent=True
            )
    if (
        check_id_origin
        and doc_id is not None
        and not (isinstance(doc_id, str) and same_origin(doc_id, final_url))
    ):
        raise FetchError("document id has another origin than its URL", status=status, permanent=True)
