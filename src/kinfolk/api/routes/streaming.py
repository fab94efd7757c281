"""Streaming routes: the WebSocket, the SSE streams, and the health check.

The streaming API is served by the same process as the REST API (`urls.streaming` in the
instance entity points at this host), so there is no second server to run.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from kinfolk.api.streaming import sse, websocket
from kinfolk.domain.timelines import distribution  # noqa: F401  (registers the stream listeners)


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


routes: list[BaseRoute] = [
    WebSocketRoute("/api/v1/streaming", websocket.endpoint),
    WebSocketRoute("/api/v1/streaming/", websocket.endpoint),
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    Route("/api/v1/streaming/{path:path}", sse.stream, methods=["GET"]),
]
