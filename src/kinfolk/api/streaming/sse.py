"""Server-sent events: `GET /api/v1/streaming/<stream>`, one stream per connection.

The subscription is in place before the first byte (`:)`) is sent, so a client that has read it
misses nothing published afterwards. A comment line (`:thump`) every `HEARTBEAT` seconds keeps
proxies from closing an idle stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kinfolk.api.app import get_container
from kinfolk.api.http import flatten_pairs, json_response
from kinfolk.api.streaming.channels import SSE_PATHS, resolve
from kinfolk.api.streaming.session import Delivery, StreamClosed, StreamSession
from kinfolk.api.streaming.viewer import StreamRefused, authenticate

HEARTBEAT = 15.0


def encode(delivery: Delivery) -> bytes:
    data = delivery.payload if delivery.payload is not None else "undefined"
    return f"event: {delivery.event}\ndata: {data}\n\n".encode()


async def _events(session: StreamSession) -> AsyncIterator[bytes]:
    try:
        yield b":)\n"
        while True:
            try:
                deliveries = await session.next(HEARTBEAT)
            except TimeoutError:
                yield b":thump\n"
                continue
            except StreamClosed:
                return
            for delivery in deliveries:
                yield encode(delivery)
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def stream(request: Request) -> Response:
    container = get_container(request)
    name = SSE_PATHS.get(str(request.path_params.get("path", "")).strip("/"))
    try:
        if name is None:
            raise StreamRefused(404, "Not found")
        viewer = await authenticate(container, request)
        spec = await resolve(container, viewer, name, flatten_pairs(list(request.query_params.multi_items())))
    except StreamRefused as refused:
        return json_response({"error": refused.message}, status_code=refused.status)
    request.scope["kinfolk.account_id"] = viewer.account_id  # for the access log
    session = StreamSession(container, viewer)
    await session.open()
    try:
        await session.add(spec)
    except BaseException:
        await session.close()
        raise
    return StreamingResponse(
        _events(session),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        # Also when the client left before the first byte and the generator never ran.
        background=BackgroundTask(session.close),
    )
