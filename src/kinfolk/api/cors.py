"""CORS for public, read-only endpoints that browser clients (Phanpy, Elk) call from other origins.

Any origin may read them: they carry no cookies, and a bearer token is only ever sent by a
script that already holds it. Preflight requests are answered here, because clients that send
an Authorization header trigger one even for a GET.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Idempotency-Key",
    "Access-Control-Max-Age": "86400",
}
PUBLIC_METHODS = ["GET", "HEAD", "OPTIONS"]


def public(endpoint: Endpoint) -> Endpoint:
    """Answer preflights and add `Access-Control-Allow-Origin: *` to every response of `endpoint`.

    Errors raised inside `endpoint` are rendered here too, so that a browser can read a 404 or
    a 400 (and tell it from a network failure).
    """

    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT_HEADERS)
        try:
            response = await endpoint(request)
        except Exception as exc:
            response = await _render_error(request, exc)
        for name, value in CORS_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return wrapper


async def _render_error(request: Request, exc: Exception) -> Response:
    from kinfolk.api.errors import EXCEPTION_HANDLERS

    for cls in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(cls)
        if handler is not None:
            return await handler(request, exc)
    raise exc
