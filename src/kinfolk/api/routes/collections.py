"""Collections (Mastodon 4.6): create, read, change and delete them, add and remove accounts,
revoke one's own inclusion, and list an account's collections or those it is featured in."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, require_user, viewer_account_id
from kinfolk.api.entities.collection import item_json, render_collections, render_with_accounts
from kinfolk.api.http import as_bool, json_response, read_params
from kinfolk.api.offset_paging import offset_link_header, parse_offset
from kinfolk.api.paging import Limits, parse_limit
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.collections import service
from kinfolk.domain.collections.service import CollectionParams, CollectionView, OffsetPage
from kinfolk.kernel.errors import NotFound, Unprocessable

COLLECTIONS = Limits(default=40, maximum=80)
_ID_LIMIT = 1 << 63


def _id(value: Any) -> int:
    """An id from a path or a parameter; anything but a number is simply not found."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit() or not text.isascii() or int(text) >= _ID_LIMIT:
        raise NotFound()
    return int(text)


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    label = name.replace("_", " ").capitalize()
    raise Unprocessable(
        f"Validation failed: {label} is invalid",
        details={name: [{"error": "ERR_INVALID", "description": "is invalid"}]},
    )


def _flag(params: dict[str, Any], name: str) -> bool | None:
    """Rails' casting: blank is "not given", listed false values are false, anything else true."""
    value = params.get(name)
    if (
        value is None
        or (isinstance(value, str) and not value.strip())
        or isinstance(value, dict | UploadFile)
    ):
        return None
    return as_bool(value, default=True)


def _collection_params(params: dict[str, Any], *, with_accounts: bool) -> CollectionParams:
    raw_ids = params.get("account_ids") if with_accounts else None
    if raw_ids is None or raw_ids == "":
        ids: list[int] = []
    else:
        ids = [_id(v) for v in (raw_ids if isinstance(raw_ids, list) else [raw_ids])]
    return CollectionParams(
        name=_text(params, "name"),
        description=_text(params, "description"),
        language=_text(params, "language"),
        tag_name=_text(params, "tag_name"),
        sensitive=_flag(params, "sensitive"),
        discoverable=_flag(params, "discoverable"),
        account_ids=ids,
    )


async def _reader_id(request: Request, uow: UnitOfWork) -> int | None:
    """Public reads still check a token when one is sent: bad is 401, wrong scope 403."""
    return viewer_account_id(await authorize_if_token(request, uow, "read:collections"))


def _paged(request: Request, page: OffsetPage[CollectionView]) -> Response:
    container = get_container(request)
    headers = offset_link_header(
        request, container.settings.base_url, offset=page.offset, limit=page.limit, has_more=page.has_more
    )
    return json_response(render_collections(page.items, container.uris), headers=headers or None)


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        view = await service.create(uow, account, _collection_params(params, with_accounts=True))
        body = {"collection": render_collections([view], container.uris)["collections"][0]}
    return json_response(body)


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer_id = await _reader_id(request, uow)
        view = await service.show(uow.session, _id(request.path_params["id"]), viewer_id)
        featured = await service.featured_accounts(uow.session, view)
        body = await render_with_accounts(uow.session, view, featured, container)
    return json_response(body)


async def update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        view = await service.update(
            uow, account.id, _id(request.path_params["id"]), _collection_params(params, with_accounts=False)
        )
        body = {"collection": render_collections([view], container.uris)["collections"][0]}
    return json_response(body)


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        await service.delete(uow, account.id, _id(request.path_params["id"]))
    return json_response({})


async def add_item(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        collection_id = _id(request.path_params["id"])
        raw = params.get("account_id")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise Unprocessable("`account_id` parameter is missing")
        item = await service.add_item(uow, account.id, collection_id, _id(raw))
        body = {"collection_item": item_json(item)}
    return json_response(body)


async def remove_item(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        await service.remove_item(
            uow, account.id, _id(request.path_params["id"]), _id(request.path_params["item_id"])
        )
    return json_response({})


async def revoke_item(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:collections")
        await service.revoke_item(
            uow, account.id, _id(request.path_params["id"]), _id(request.path_params["item_id"])
        )
    return json_response({})


async def account_collections(request: Request) -> Response:
    container = get_container(request)
    params = request.query_params
    async with container.db.uow(write=False) as uow:
        viewer_id = await _reader_id(request, uow)
        page = await service.account_collections(
            uow.session,
            _id(request.path_params["id"]),
            viewer_id,
            offset=parse_offset(params.get("offset")),
            limit=parse_limit(params.get("limit"), COLLECTIONS),
        )
        return _paged(request, page)


async def in_collections(request: Request) -> Response:
    container = get_container(request)
    params = request.query_params
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:collections")
        page = await service.featuring(
            uow.session,
            _id(request.path_params["id"]),
            account.id,
            offset=parse_offset(params.get("offset")),
            limit=parse_limit(params.get("limit"), COLLECTIONS),
        )
        return _paged(request, page)


routes: list[BaseRoute] = [
    Route("/api/v1/collections", create, methods=["POST"]),
    Route("/api/v1/collections/{id}", show, methods=["GET"]),
    Route("/api/v1/collections/{id}", update, methods=["PATCH", "PUT"]),
    Route("/api/v1/collections/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/collections/{id}/items", add_item, methods=["POST"]),
    Route("/api/v1/collections/{id}/items/{item_id}", remove_item, methods=["DELETE"]),
    Route("/api/v1/collections/{id}/items/{item_id}/revoke", revoke_item, methods=["POST"]),
    Route("/api/v1/accounts/{id}/collections", account_collections, methods=["GET"]),
    Route("/api/v1/accounts/{id}/in_collections", in_collections, methods=["GET"]),
]
