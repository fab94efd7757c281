"""ASGI middleware: body size cap, forwarded headers from trusted proxies only, accepted hosts."""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kinfolk.api.http import json_response
from kinfolk.config import Settings, host_name
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
                forwarded_host = headers.get(b"x-forwarded-host")
                if forwarded_host:
                    # The name the client asked the proxy for: what the host check judges. The
                    # right-most value is the one our own proxy wrote.
                    value = forwarded_host.split(b",")[-1].strip()
                    if value:
                        kept = [(k, v) for k, v in scope.get("headers", []) if k != b"host"]
                        scope = dict(scope, headers=[*kept, (b"host", value)])
                proto = headers.get(b"x-forwarded-proto")
                if proto:
                    value = proto.decode("latin-1").split(",")[0].strip().lower()
                    if value in ("http", "https"):
                        scheme = value if scope["type"] == "http" else ("wss" if value == "https" else "ws")
                        scope = dict(scope, scheme=scheme)
        await self.app(scope, receive, send)


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
# Load balancers probe these by address, without the server's name (as Mastodon exempts /health).
HOST_EXEMPT_PATHS = frozenset({"/health", "/api/v1/streaming/health"})


class HostCheckMiddleware:
    """Refuse requests naming a host this server is not (421), as Rails' host authorization does.

    Accepted: the configured `domain` and `alternate_domains` (any port), and, when the domain
    is itself a loopback name (local development, tests, the benchmark), every loopback name.
    Nothing generated uses the Host header; refusing others keeps caches and logs honest and
    stops DNS-rebinding pages from talking to a local instance.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        # Host header -> verdict, for the configuration it was made under: every request asks.
        self._verdicts: dict[bytes, bool] = {}
        self._made_for: tuple[str, str] = ("", "")

    def accepts(self, host: str) -> bool:
        name = host_name(host)
        accepted = self.settings.accepted_hosts
        if name in accepted:
            return True
        return name in LOOPBACK_HOSTS and not accepted.isdisjoint(LOOPBACK_HOSTS)

    def _accepts_header(self, host: bytes) -> bool:
        configuration = (self.settings.domain, self.settings.alternate_domains)
        if configuration != self._made_for or len(self._verdicts) > 1000:
            self._verdicts, self._made_for = {}, configuration
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self._verdicts[host] = self.accepts(host.decode("latin-1"))
        return verdict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("path") not in HOST_EXEMPT_PATHS:
            host = b""
            for name, value in scope.get("headers", ()):
                if name == b"host":
                    host = value
                    break
            if not self._accepts_header(host):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                response = json_response(
                    {"error": "This server does not answer to that host name"}, status_code=421
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
