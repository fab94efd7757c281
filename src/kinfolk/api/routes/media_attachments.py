"""Media uploads: POST /api/v2/media (200 for pictures, 202 while video and audio transcode),
legacy POST /api/v1/media (always finished), and GET/PUT/DELETE /api/v1/media/:id."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.media_attachment import render_media
from kinfolk.api.http import json_response, path_id, read_params
from kinfolk.domain.media import service
from kinfolk.kernel.errors import Unprocessable

SCOPE = "write:media"


def _upload(value: Any) -> UploadFile | None:
    return value if isinstance(value, UploadFile) else None


async def _viewer_account_id(request: Request) -> int:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, SCOPE)
    return account.id


async def _create(request: Request, *, synchronous: bool) -> Response:
    container = get_container(request)
    account_id = await _viewer_account_id(request)
    try:
        params = await read_params(request)
        upload = _upload(params.get("file"))
        if upload is None:
            raise Unprocessable("Validation failed: File can't be blank")
        prepared = await service.prepare_upload(
            container.settings,
            container.storage,
            upload,
            thumbnail=_upload(params.get("thumbnail")),
            description=params.get("description"),
            focus=params.get("focus"),
            synchronous=synchronous,
        )
    finally:
        await request.close()  # uploaded files are spooled to temporary files
    try:
        async with container.db.uow() as uow:
            media = await service.create_media(uow, account_id, prepared)
    except BaseException:
        await service.discard_files(container.storage, prepared.files.written)
        raise
    body = render_media(container.storage, media)
    return json_response(body, status_code=202 if media.state == "processing" else 200)


async def create_v2(request: Request) -> Response:
    return await _create(request, synchronous=False)


async def create_v1(request: Request) -> Response:
    return await _create(request, synchronous=True)


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, SCOPE)
        media = await service.get_unattached(uow.session, account.id, path_id(request))
    body = render_media(container.storage, media)
    return json_response(body, status_code=206 if media.state == "processing" else 200)


async def update(request: Request) -> Response:
    container = get_container(request)
    account_id = await _viewer_account_id(request)
    media_id = path_id(request)
    try:
        params = await read_params(request)
        prepared = await service.prepare_update(
            container.settings,
            container.storage,
            media_id,
            thumbnail=_upload(params.get("thumbnail")),
            description=params.get("description"),
            focus=params.get("focus"),
        )
    finally:
        await request.close()
    try:
        async with container.db.uow() as uow:
            media = await service.update_media(uow, account_id, media_id, prepared)
    except BaseException:
        await service.discard_files(container.storage, prepared.files.written)
        raise
    body = render_media(container.storage, media)
    return json_response(body, status_code=206 if media.state == "processing" else 200)


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, SCOPE)
        await service.delete_media(uow, account.id, path_id(request))
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v2/media", create_v2, methods=["POST"]),
    Route("/api/v1/media", create_v1, methods=["POST"]),
    Route("/api/v1/media/{id}", show, methods=["GET"]),
    Route("/api/v1/media/{id}", update, methods=["PUT"]),
    Route("/api/v1/media/{id}", destroy, methods=["DELETE"]),
]
