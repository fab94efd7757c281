"""Per-request logging and metrics: a request id, one access line, errors with their traceback.

Pure ASGI (no BaseHTTPMiddleware, which runs the app in a task and buffers): it wraps `send` to
read the status and add the `X-Request-Id` header, and costs a few microseconds per request
(bench: tests/api/test_request_log.py measures it).

What is logged: the request id, method, path, the query with secret values replaced, status,
duration in milliseconds, client address, and the account id when the request authenticated
(api/auth.py and the home timeline's fast path leave it in the scope). Never a header, a body,
a token or a password.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinfolk.infra.metrics import UNMATCHED, RequestMetrics

access_log = logging.getLogger("kinfolk.access")
error_log = logging.getLogger("kinfolk.error")

REQUEST_ID_SCOPE = "kinfolk.request_id"
ACCOUNT_ID_SCOPE = "kinfolk.account_id"
PROXIED_SCOPE = "kinfolk.proxied"  # set by ProxyHeadersMiddleware when the peer is a trusted proxy

# Query parameters whose values are never written to a log: OAuth codes, tokens, passwords.
SECRET_PARAMETERS = frozenset({"access_token", "password", "code", "client_secret", "token", "refresh_token"})
_SECRET_SUFFIXES = ("token", "secret", "password")
REDACTED = "[redacted]"
_IN_MESSAGE = ("method", "path", "status")
# An incoming id (from a trusted proxy) is kept only if it is short and plain.
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def redact_query(query: str) -> str:
    """The query string with the values of secret parameters replaced (also `user[password]`)."""
    if not query:
        return ""
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        name, sep, _ = part.partition("=")
        key = name.lower().replace("%5b", "[").replace("%5d", "]").rstrip("[]").rsplit("[", 1)[-1].rstrip("]")
        if sep and (key in SECRET_PARAMETERS or key.endswith(_SECRET_SUFFIXES)):
            parts[i] = f"{name}={REDACTED}"
            changed = True
    return "&".join(parts) if changed else query


def new_request_id() -> str:
    return os.urandom(8).hex()


class RequestLogMiddleware:
    """Sits inside ProxyHeadersMiddleware (so the client address is the real one) and outside
    everything else (so it sees every status, the 413s and the 500s included)."""

    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
        self.app = app
        self.access = access
        self.metrics = RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                scope[REQUEST_ID_SCOPE] = self._request_id(scope)
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        scope[REQUEST_ID_SCOPE] = request_id
        header = (b"x-request-id", request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status:  # the response had started: nothing better to do than to cut it
                self._log_error(scope, request_id, exc)
                self._finish(scope, request_id, 500, started)
                raise
            status = 500
            if await _internal_error(scope, receive, send_with_id, exc) == 500:
                self._log_error(scope, request_id, exc)
        self._finish(scope, request_id, status, started)

    def _log_error(self, scope: Scope, request_id: str, exc: Exception) -> None:
        """A crash, with its traceback; faults and out-of-range input are logged where they
        are answered (api/errors.py), as what they are."""
        error_log.error(
            "unhandled error on %s %s",
            scope["method"],
            scope["path"],
            exc_info=exc,
            extra={"fields": {"request_id": request_id}},
        )

    def _request_id(self, scope: Scope) -> str:
        if scope.get(PROXIED_SCOPE):
            for name, value in scope["headers"]:
                if name == b"x-request-id":
                    if _VALID_ID.match(value):
                        return value.decode()
                    break
        return new_request_id()

    def _finish(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope["method"]
        self.metrics.observe(template, method, status, seconds)
        if self.access and access_log.isEnabledFor(logging.INFO):
            path = scope["path"]
            query = scope.get("query_string", b"")
            client = scope.get("client")
            # A record made directly: Logger.info would also walk the stack to find its caller,
            # a third of the line's cost, for a caller that is always this line.
            record = logging.LogRecord(
                "kinfolk.access", logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None
            )
            record.fields = {
                "request_id": request_id,
                "method": method,
                "path": path,
                "query": redact_query(query.decode("latin-1")) if query else None,
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "account_id": scope.get(ACCOUNT_ID_SCOPE),
                "client": client[0] if client else None,
            }
            record.in_message = _IN_MESSAGE
            access_log.handle(record)


async def _internal_error(scope: Scope, receive: Receive, send: Send, exc: Exception) -> int:
    """The answer Mastodon would give (a fault's 503/507, a 422 for a value out of range, else
    its 500), rendered as the app's own handler would, carrying the request id; its status."""
    from kinfolk.api.errors import error_response

    try:
        response = error_response(Request(scope, receive), exc)
    except Exception:  # pragma: no cover - rendering must not hide the original error
        error_log.error("could not render the 500 answer: %s", traceback.format_exc())
        return 500
    await response(scope, receive, send)
    return response.status_code
