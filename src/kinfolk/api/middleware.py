"""ASGI middleware: body size cap and forwarded headers from trusted proxies only."""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinfolk.api.http import json_response
from kinfolk.config import Settings
from kinfolk.kernel.errors import PayloadTooLarge


class BodyLimitMiddleware:
    """Answer 413 before reading past `max_bytes`, whether or not Content-Length was sent."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path prefix, limit) pairs for the few endpoints that take big uploads (media).
        self.larger = larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for prefix, n in self.larger if path.startswith(prefix)), self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > limit:
                    await _too_large(scope, receive, send)
                    return
        received = 0
        started = False
        max_bytes = limit

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise PayloadTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        # Inside the app, Starlette's exception middleware renders PayloadTooLarge as a 413; this
        # catch covers handlers that read the body outside it.
        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = json_response({"error": "Request entity too large"}, status_code=413)
    await response(scope, receive, send)


class ProxyHeadersMiddleware:
    """Take the client address and scheme from X-Forwarded-* only when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.networks = settings.trusted_proxy_networks

    def _trusted(self, host: str | None) -> bool:
        if not host or not self.networks:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if self._trusted(client[0] if client else None):
                # The request log takes an incoming X-Request-Id only from a trusted proxy.
                scope["kinfolk.proxied"] = True
                headers = dict(scope.get("headers", []))
                forwarded_for = headers.get(b"x-forwarded-for")
                if forwarded_for:
                    # The right-most address not itself a trusted proxy is the real client.
                    hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",") if h.strip()]
                    fallback = hops[0] if hops else None
                    real = next((h for h in reversed(hops) if not self._trusted(h)), fallback)
                    if real:
                        scope = dict(scope, client=(real, 0))
                proto = headers.get(b"x-forwarded-proto")
                if proto:
                    value = proto.decode("latin-1").split(",")[0].strip().lower()
                    if value in ("http", "https"):
                        scheme = value if scope["type"] == "http" else ("wss" if value == "https" else "ws")
                        scope = dict(scope, scheme=scheme)
        await self.app(scope, receive, send)
