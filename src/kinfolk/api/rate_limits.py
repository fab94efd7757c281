"""Applying the rate-limit table (domain/rate_limits.py) to HTTP requests, and telling clients.

`RateLimitMiddleware` counts the per-request throttles before routing and answers 429 itself
(nothing behind it runs). Routes that create statuses, follows or reports count their family
with `family(...)` inside their unit of work, before writing: over the limit, the request fails
with 429 and its transaction writes nothing; a write that fails for another reason gives its
count back.

Every count a request made is kept in its scope; the middleware puts the most limiting one on
the answer as Mastodon does: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (the window's end, ISO 8601).

Addresses in `KINFOLK_RATE_LIMIT_EXEMPT` (none by default; Mastodon safelists loopback) are not
throttled per request (behind a trusted proxy the address is the real client's); the per-account
families still apply to them.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinfolk.api.http import json_response
from kinfolk.container import Container
from kinfolk.domain import rate_limits as table
from kinfolk.domain.oauth.service import lookup_token
from kinfolk.infra.ratelimit import Hit, RateLimiter
from kinfolk.kernel.errors import TooManyRequests
from kinfolk.kernel.secrets import digest

SCOPE_KEY = "kinfolk.rate_limits"
_MEDIA = re.compile(r"^/api/v\d+/media$")
_DELETE_STATUS = re.compile(r"^/api/v1/statuses/\d+$")
_UNREBLOG = re.compile(r"^/api/v1/statuses/\d+/unreblog$")
_PAGING_PARAMS = frozenset({"page", "min_id", "max_id", "since_id"})


def record(scope: Scope, hit: Hit) -> None:
    """Keep `hit` for the answer's X-RateLimit-* headers."""
    scope.setdefault(SCOPE_KEY, []).append(hit)


def headers_for(hit: Hit) -> list[tuple[bytes, bytes]]:
    reset = datetime.fromtimestamp(hit.reset, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        (b"x-ratelimit-limit", str(hit.limit).encode()),
        (b"x-ratelimit-remaining", str(hit.remaining).encode()),
        (b"x-ratelimit-reset", reset.encode()),
    ]


def family_key(limit: table.Limit, account_id: int) -> str:
    return f"family:{limit.name}:{account_id}"


def throttle_key(limit: table.Limit, who: str) -> str:
    """`who` is `account:<id>`, `token:<id>` or `ip:<address>`."""
    return f"{limit.name}:{who}"


def most_limiting(hits: list[Hit]) -> Hit:
    return min(hits, key=lambda h: h.limit - h.count)


class Counted:
    """The event `family` counted; `refund()` when the write turned out to create nothing."""

    def __init__(self, limiter: RateLimiter | None, key: str, limit: table.Limit) -> None:
        self.limiter = limiter
        self.key = key
        self.limit = limit
        self.refunded = False

    async def refund(self) -> None:
        if self.limiter is not None and not self.refunded:
            self.refunded = True
            await self.limiter.give_back(self.key, self.limit.period)


@asynccontextmanager
async def family(request: Request, limit: table.Limit, account_id: int) -> AsyncIterator[Counted]:
    """Count one `limit` event for the account around a write; 429 (and nothing written) past it.

    A write that fails gives its count back, as Mastodon counts only what was created.
    """
    container: Container = request.app.state.container
    limiter = container.ratelimiter
    key = family_key(limit, account_id)
    if not limiter.enabled:
        yield Counted(None, key, limit)
        return
    hit = await limiter.take(key, limit.limit, limit.period)
    counted = Counted(limiter, key, limit)
    if not hit.allowed:
        await counted.refund()
        record(request.scope, replace(hit, count=hit.count - 1))
        raise TooManyRequests()
    try:
        yield counted
    except BaseException:
        await counted.refund()
        raise
    finally:
        record(request.scope, replace(hit, count=hit.count - 1) if counted.refunded else hit)


class TokenCache:
    """Bearer token digest -> (token id, account id), for a minute: throttling needs no fresh answer
    (the route still checks the token itself), only not to ask the database on every request."""

    TTL = 60.0
    MAX = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, int | None, int | None]] = {}

    async def owner(self, container: Container, plain: str) -> tuple[int | None, int | None]:
        key = digest(plain)
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return found[1], found[2]
        async with container.db.uow(write=False) as uow:
            owner = await lookup_token(uow.session, plain)
        token_id = owner.token.id if owner else None
        account_id = owner.account.id if owner and owner.account else None
        if len(self._entries) >= self.MAX:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.MAX:
                self._entries.clear()
        self._entries[key] = (now + self.TTL, token_id, account_id)
        return token_id, account_id


def throttle_address(host: str) -> str:
    """The address a throttle counts: IPv6 clients by their /64, as one host usually holds one."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
            return None
    return None


def _paging(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    if not query:
        return False
    return any(k in _PAGING_PARAMS and v for k, v in parse_qsl(query.decode("latin-1")))


class RateLimitMiddleware:
    """Mastodon's per-request throttles, and the X-RateLimit-* headers of every counted request."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.tokens = TokenCache()

    def _exempt(self, address: str | None) -> bool:
        networks = self.container.settings.rate_limit_exempt_networks
        if not networks or address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    async def throttles(self, scope: Scope) -> list[tuple[table.Limit, str]]:
        """The throttles this request counts against, with whom each counts (`throttle_key`)."""
        path: str = scope.get("path", "")
        api = path.startswith("/api/")
        paging = _paging(scope)
        if not (api or paging):
            return []
        token_id = account_id = None
        plain = _bearer(scope)
        if plain is not None:
            token_id, account_id = await self.tokens.owner(self.container, plain)
        client = scope.get("client")
        address = throttle_address(client[0]) if client else "unknown"
        found: list[tuple[table.Limit, str]] = []
        if api:
            if account_id is not None:
                found.append((table.AUTHENTICATED_API, f"account:{account_id}"))
            if token_id is not None:
                found.append((table.PER_TOKEN_API, f"token:{token_id}"))
            if account_id is None:
                found.append((table.UNAUTHENTICATED_API, f"ip:{address}"))
        method = scope["method"]
        if account_id is not None:
            if method == "POST" and _MEDIA.match(path):
                found.append((table.API_MEDIA, f"account:{account_id}"))
            if (method == "DELETE" and _DELETE_STATUS.match(path)) or (
                method == "POST" and _UNREBLOG.match(path)
            ):
                found.append((table.API_DELETE, f"account:{account_id}"))
        if method == "POST" and path == "/api/v1/emails/confirmations":
            found.append((table.EMAIL_CONFIRMATIONS_PER_IP, f"ip:{address}"))
            if account_id is not None:
                found.append((table.EMAIL_CONFIRMATIONS_PER_ACCOUNT, f"account:{account_id}"))
        if paging:
            if account_id is not None:
                found.append((table.AUTHENTICATED_PAGING, f"account:{account_id}"))
            else:
                found.append((table.UNAUTHENTICATED_PAGING, f"ip:{address}"))
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.container.ratelimiter
        if scope["type"] != "http" or not limiter.enabled:
            await self.app(scope, receive, send)
            return
        hits: list[Hit] = []
        scope[SCOPE_KEY] = hits
        client = scope.get("client")
        if scope["method"] != "OPTIONS" and not self._exempt(client[0] if client else None):
            for limit, who in await self.throttles(scope):
                hit = await limiter.take(throttle_key(limit, who), limit.limit, limit.period)
                hits.append(hit)
                if not hit.allowed:
                    response = json_response({"error": "Too many requests"}, status_code=429)
                    response.raw_headers.extend(headers_for(hit))
                    await response(scope, receive, send)
                    return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and hits:
                shown = headers_for(most_limiting(hits))
                message = {**message, "headers": [*message.get("headers", []), *shown]}
            await send(message)

        await self.app(scope, receive, with_headers)
