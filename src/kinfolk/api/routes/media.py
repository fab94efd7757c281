"""Serving stored media files, and the default avatar and header.

Uploaded bytes are hostile until proven otherwise: the type comes from the extension of a key
we generated (never sniffed, never the client's), browsers are told not to sniff, and a
sandboxing CSP stops anything that slipped through from running as a page of ours.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.infra.images import missing_avatar_png, missing_header_png
from kinfolk.infra.storage import CONTENT_TYPES, IMMUTABLE, LocalStorage
from kinfolk.kernel.errors import NotFound

MEDIA_TYPES = CONTENT_TYPES

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
    "Referrer-Policy": "no-referrer",
}


async def serve_media(request: Request) -> Response:
    storage = get_container(request).storage
    key = request.path_params["key"]
    if not isinstance(storage, LocalStorage):
        raise NotFound()  # other stores serve their files themselves, at their own URLs
    if key.endswith(".bin"):
        raise NotFound()  # raw uploads waiting for processing are never served
    try:
        path = storage.path(key)
    except ValueError as exc:
        raise NotFound() from exc
    if not await asyncio.to_thread(path.is_file):
        raise NotFound()
    extension = key.rsplit(".", 1)[-1].lower()
    headers = {"Cache-Control": IMMUTABLE, **SECURITY_HEADERS}
    media_type = MEDIA_TYPES.get(extension)
    if media_type is None:
        media_type = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    return FileResponse(path, media_type=media_type, headers=headers)


def _png(data: bytes) -> Response:
    headers = {"Cache-Control": "public, max-age=86400", **SECURITY_HEADERS}
    return Response(data, media_type="image/png", headers=headers)


async def missing_avatar(request: Request) -> Response:
    return _png(await asyncio.to_thread(missing_avatar_png))


async def missing_header(request: Request) -> Response:
    return _png(await asyncio.to_thread(missing_header_png))


routes: list[BaseRoute] = [
    Route("/media/{key:path}", serve_media, methods=["GET"]),
    # Mastodon's paths for "no image set"; clients sometimes compare against them.
    Route("/avatars/original/missing.png", missing_avatar, methods=["GET"]),
    Route("/headers/original/missing.png", missing_header, methods=["GET"]),
]
