from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kinfolk.api.errors import EXCEPTION_HANDLERS
from kinfolk.api.http import json_response
from kinfolk.api.middleware import BodyLimitMiddleware, ProxyHeadersMiddleware
from kinfolk.config import Settings

seen: list[bytes] = []


async def sink(request: Request) -> Response:
    body = await request.body()
    seen.append(body)
    return json_response({"len": len(body)})


async def whoami(request: Request) -> Response:
    assert request.client is not None
    return json_response({"client": request.client.host, "scheme": request.url.scheme})


def _client(app: object, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 1234))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://t.example")


async def test_oversized_body_is_refused_with_413_before_the_handler_sees_it() -> None:
    inner = Starlette(routes=[Route("/", sink, methods=["POST"])], exception_handlers=EXCEPTION_HANDLERS)
    app = BodyLimitMiddleware(inner, max_bytes=1000)
    seen.clear()
    async with _client(app) as c:
        small = await c.post("/", content=b"x" * 1000)
        big = await c.post("/", content=b"x" * 1001)

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"y" * 400

        streamed = await c.post("/", content=chunks())
    assert small.status_code == 200
    assert big.status_code == 413
    assert big.json() == {"error": "Request entity too large"}
    assert streamed.status_code == 413
    assert seen == [b"x" * 1000]


def _proxy_app(trusted: str) -> ProxyHeadersMiddleware:
    settings = Settings(trusted_proxies=trusted, secret_key="k")
    return ProxyHeadersMiddleware(Starlette(routes=[Route("/", whoami)]), settings=settings)


async def test_forwarded_headers_from_a_trusted_proxy_are_honoured() -> None:
    headers = {"x-forwarded-for": "203.0.113.9, 10.0.0.2", "x-forwarded-proto": "https"}
    async with _client(_proxy_app("10.0.0.0/8,127.0.0.1/32"), peer="10.0.0.1") as c:
        body = (await c.get("/", headers=headers)).json()
    assert body == {"client": "203.0.113.9", "scheme": "https"}


async def test_forwarded_headers_from_anyone_else_are_ignored() -> None:
    headers = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    async with _client(_proxy_app("10.0.0.0/8"), peer="198.51.100.7") as c:
        body = (await c.get("/", headers=headers)).json()
    assert body == {"client": "198.51.100.7", "scheme": "http"}
