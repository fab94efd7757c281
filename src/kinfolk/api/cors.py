"""CORS, as Mastodon configures it: the API and discovery documents are open to any origin.

Browser clients (Elk, Phanpy) run on their own origins and call `/api/*` with a bearer token,
exchange codes at `/oauth/token`, and read `/.well-known/*` and `/nodeinfo/*`. Any origin may
do so, never with credentials: no cookie is honoured there, and a bearer token is only sent by a
script that already holds it. HTML pages and forms (`/oauth/authorize`, `/`) get no CORS
headers, so another origin can neither read them nor post to them with a readable answer.

One middleware applies this by path, on every response of those paths: errors too (a browser
must be able to tell a 401 or a 429 from a network failure), and preflights are answered here
before routing.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PREFIXES = ("/api/", "/.well-known/", "/nodeinfo/")
CORS_PATHS = frozenset({"/oauth/token", "/oauth/revoke"})

ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
EXPOSE_HEADERS = (
    b"access-control-expose-headers",
    b"Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id",
)
ALLOW_METHODS = b"POST, PUT, DELETE, GET, PATCH, OPTIONS"
DEFAULT_ALLOW_HEADERS = b"Authorization, Content-Type, Accept, Idempotency-Key"
MAX_AGE = b"7200"  # two hours, as rack-cors (Mastodon's CORS library) answers

# What a preflight may ask for, echoed back: header names and the separators between them.
_HEADER_LIST = re.compile(rb"^[A-Za-z0-9!#$%&'*+.^_`|~\-, ]{1,1000}$")


def cors_path(path: str) -> bool:
    return path in CORS_PATHS or path.startswith(CORS_PREFIXES)


class CORSMiddleware:
    """Open CORS for `cors_path` paths; nothing for anything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not cors_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            # A preflight (with Access-Control-Request-Method), or a plain OPTIONS: no route
            # answers OPTIONS, so both get what the path allows.
            await _preflight(scope, send)
            return
        started = False

        async def with_cors(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not any(name.lower() == ALLOW_ORIGIN[0] for name, _ in headers):
                    headers.append(ALLOW_ORIGIN)
                    headers.append(EXPOSE_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_cors)
        except Exception as exc:
            # Starlette renders unexpected errors outside every middleware; rendering the 500
            # here gives it the CORS headers too. Re-raised so that the server still logs it.
            if not started:
                from kinfolk.api.errors import unexpected_error

                response = await unexpected_error(Request(scope), exc)
                await response(scope, receive, with_cors)
            raise


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


async def _preflight(scope: Scope, send: Send) -> None:
    asked = _header(scope, b"access-control-request-headers")
    allow_headers = asked.strip() if asked and _HEADER_LIST.match(asked.strip()) else DEFAULT_ALLOW_HEADERS
    headers = [
        ALLOW_ORIGIN,
        (b"access-control-allow-methods", ALLOW_METHODS),
        (b"access-control-allow-headers", allow_headers),
        (b"access-control-max-age", MAX_AGE),
        EXPOSE_HEADERS,
        (b"vary", b"Access-Control-Request-Headers"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
