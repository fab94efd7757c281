"""The multiplexed WebSocket: `GET /api/v1/streaming` (`?stream=` opens a first subscription),
then `{"type": "subscribe" | "unsubscribe", "stream": ..., "tag"?: ..., "list"?: ...}` messages.

Each event goes out as `{"stream": [...], "event": ..., "payload": "<JSON string>"}`; a refused
subscription as `{"error": ..., "status": ...}`. A bad token is refused before the upgrade with a
401, as Mastodon's streaming server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from kinfolk.api.http import flatten_pairs, json_response
from kinfolk.api.streaming.channels import resolve
from kinfolk.api.streaming.session import StreamClosed, StreamSession
from kinfolk.api.streaming.viewer import StreamRefused, StreamViewer, authenticate
from kinfolk.container import Container

log = logging.getLogger("kinfolk.streaming")

# Idle wake-ups: how often the sender checks the token when nothing happens.
IDLE = 15.0
# A client message larger than this is not a subscription request.
MAX_MESSAGE = 4096


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


async def _refuse(websocket: WebSocket, refused: StreamRefused) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            json_response({"error": refused.message}, status_code=refused.status)
        )
    else:
        await websocket.close(code=1008, reason=refused.message)


async def _subscribe(
    websocket: WebSocket,
    container: Container,
    session: StreamSession,
    viewer: StreamViewer,
    params: dict[str, Any],
) -> None:
    stream = _first(params.get("stream"))
    try:
        spec = await resolve(container, viewer, stream if isinstance(stream, str) else None, params)
    except StreamRefused as refused:
        await websocket.send_text(orjson.dumps({"error": refused.message, "status": refused.status}).decode())
        return
    await session.add(spec)


async def _unsubscribe(
    websocket: WebSocket,
    container: Container,
    session: StreamSession,
    viewer: StreamViewer,
    params: dict[str, Any],
) -> None:
    stream = _first(params.get("stream"))
    try:
        spec = await resolve(container, viewer, stream if isinstance(stream, str) else None, params)
    except StreamRefused:
        await websocket.send_text(orjson.dumps({"error": "Error unsubscribing from channel"}).decode())
        return
    await session.remove(spec)


async def _receive(
    websocket: WebSocket, container: Container, session: StreamSession, viewer: StreamViewer
) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await websocket.close(code=1003, reason="binary messages are not supported")
            return
        if len(text) > MAX_MESSAGE:
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(data, dict):
            continue
        if data.get("type") == "subscribe":
            await _subscribe(websocket, container, session, viewer, data)
        elif data.get("type") == "unsubscribe":
            await _unsubscribe(websocket, container, session, viewer, data)


async def _send(websocket: WebSocket, session: StreamSession) -> None:
    while True:
        try:
            deliveries = await session.next(IDLE)
        except TimeoutError:
            continue
        for delivery in deliveries:
            body: dict[str, Any] = {"stream": list(delivery.stream), "event": delivery.event}
            if delivery.payload is not None:
                body["payload"] = delivery.payload
            await websocket.send_text(orjson.dumps(body).decode())


async def endpoint(websocket: WebSocket) -> None:
    container: Container = websocket.app.state.container
    try:
        viewer = await authenticate(container, websocket)
    except StreamRefused as refused:
        await _refuse(websocket, refused)
        return
    session = StreamSession(container, viewer)
    await session.open()
    try:
        initial = flatten_pairs(list(websocket.query_params.multi_items()))
        pending_error: StreamRefused | None = None
        if initial.get("stream") is not None:
            stream = _first(initial.get("stream"))
            try:
                await session.add(
                    await resolve(container, viewer, stream if isinstance(stream, str) else None, initial)
                )
            except StreamRefused as refused:
                pending_error = refused
        # The token sent as a subprotocol must be echoed, or browsers drop the connection.
        await websocket.accept(subprotocol=viewer.token if viewer.via_subprotocol else None)
        if pending_error is not None:
            await websocket.send_text(
                orjson.dumps({"error": pending_error.message, "status": pending_error.status}).decode()
            )
        receiver = asyncio.create_task(_receive(websocket, container, session, viewer))
        sender = asyncio.create_task(_send(websocket, session))
        done, pending = await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            error = task.exception()
            if isinstance(error, StreamClosed):
                with contextlib.suppress(Exception):
                    await websocket.close(code=1000)
            elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                log.error("streaming connection failed", exc_info=error)
                with contextlib.suppress(Exception):
                    await websocket.close(code=1011)
    finally:
        await session.close()
