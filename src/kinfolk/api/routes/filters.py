"""Filters: v2 filters with their keywords and statuses, and the v1 keyword view of them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.filter import (
    render_filter,
    render_filter_status,
    render_keyword,
    render_v1_filter,
)
from kinfolk.api.http import as_bool, id_value, is_digits, json_response, path_id, read_params
from kinfolk.domain.filters import service
from kinfolk.domain.filters.service import UNSET, FilterInput, FilterView, KeywordInput, V1Input
from kinfolk.kernel.errors import Unprocessable

READ = "read:filters"
WRITE = "write:filters"
_RAILS_ARRAY = "keywords_attributes[]["


def _view(view: FilterView) -> dict[str, Any]:
    return render_filter(view.filter, view.keywords, view.statuses)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise Unprocessable("Validation failed: invalid parameter")
    return str(value)


def _optional_bool(value: Any) -> bool | None:
    return None if value is None else as_bool(value)


def _context(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str | int)]


def _expires_in(params: dict[str, Any]) -> int | object | None:
    if "expires_in" not in params:
        return UNSET
    value = params["expires_in"]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise Unprocessable("Validation failed: Expires in is not a number")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if not is_digits(text.lstrip("-")):
        raise Unprocessable("Validation failed: Expires in is not a number")
    return int(text)


def _id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    number = id_value(value if isinstance(value, int) else str(value))
    # An id that cannot exist matches nothing, which is a 404 for keyword updates.
    return -1 if number is None else number


async def _rails_array(request: Request) -> list[dict[str, Any]]:
    """`keywords_attributes[][keyword]=a&keywords_attributes[][whole_word]=1&...` as Rails reads it:
    a new hash starts whenever a field repeats."""
    pairs: list[tuple[str, Any]] = list(request.query_params.multi_items())
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        pairs.extend((await request.form()).multi_items())
    items: list[dict[str, Any]] = []
    for key, value in pairs:
        if not key.startswith(_RAILS_ARRAY) or not key.endswith("]"):
            continue
        name = key[len(_RAILS_ARRAY) : -1]
        if not items or name in items[-1]:
            items.append({})
        items[-1][name] = value
    return items


async def _keywords(request: Request, params: dict[str, Any]) -> list[KeywordInput]:
    raw = params.get("keywords_attributes")
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = await _rails_array(request) if "" in raw else [raw[k] for k in sorted(raw, key=str)]
    if not isinstance(raw, list):
        raise Unprocessable("Validation failed: keywords_attributes is invalid")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Unprocessable("Validation failed: keywords_attributes is invalid")
        if not any(item.get(k) not in (None, "") for k in ("keyword", "whole_word", "id", "_destroy")):
            continue  # Rails' reject_if: :all_blank
        out.append(
            KeywordInput(
                keyword=_text(item.get("keyword")),
                whole_word=_optional_bool(item.get("whole_word")),
                id=_id(item.get("id")),
                destroy=as_bool(item.get("_destroy")),
            )
        )
    return out


async def _filter_input(request: Request, params: dict[str, Any]) -> FilterInput:
    return FilterInput(
        title=_text(params.get("title")),
        context=_context(params.get("context")),
        action=_text(params.get("filter_action")),
        expires_in=_expires_in(params),  # type: ignore[arg-type]
        keywords=await _keywords(request, params),
    )


def _v1_input(params: dict[str, Any]) -> V1Input:
    return V1Input(
        phrase=_text(params.get("phrase")),
        context=_context(params.get("context")),
        irreversible=_optional_bool(params.get("irreversible")),
        whole_word=_optional_bool(params.get("whole_word")),
        expires_in=_expires_in(params),  # type: ignore[arg-type]
    )


# -- v2 filters -------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        views = await service.list_filters(uow.session, account.id)
        return json_response([_view(v) for v in views])


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        return json_response(_view(await service.show_filter(uow.session, account.id, path_id(request))))


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        data = await _filter_input(request, params)
        return json_response(_view(await service.create_filter(uow, account.id, data)))


async def update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        data = await _filter_input(request, params)
        return json_response(_view(await service.update_filter(uow, account.id, path_id(request), data)))


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await service.delete_filter(uow, account.id, path_id(request))
    return json_response({})


# -- keywords ---------------------------------------------------------------------------------


async def keywords_index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        rows = await service.list_keywords(uow.session, account.id, path_id(request))
        return json_response([render_keyword(k) for k in rows])


async def keywords_create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        row = await service.add_keyword(
            uow,
            account.id,
            path_id(request),
            _text(params.get("keyword")),
            _optional_bool(params.get("whole_word")),
        )
        return json_response(render_keyword(row))


async def keyword_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        return json_response(
            render_keyword(await service.show_keyword(uow.session, account.id, path_id(request)))
        )


async def keyword_update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        row = await service.update_keyword(
            uow,
            account.id,
            path_id(request),
            _text(params.get("keyword")),
            _optional_bool(params.get("whole_word")),
        )
        return json_response(render_keyword(row))


async def keyword_destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await service.delete_keyword(uow, account.id, path_id(request))
    return json_response({})


# -- statuses ---------------------------------------------------------------------------------


async def statuses_index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        rows = await service.list_filter_statuses(uow.session, account.id, path_id(request))
        return json_response([render_filter_status(r) for r in rows])


async def statuses_create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        status_id = _id(params.get("status_id"))
        row = await service.add_filter_status(uow, account.id, path_id(request), status_id)
        return json_response(render_filter_status(row))


async def status_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        row = await service.show_filter_status(uow.session, account.id, path_id(request))
        return json_response(render_filter_status(row))


async def status_destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await service.delete_filter_status(uow, account.id, path_id(request))
    return json_response({})


# -- v1 ---------------------------------------------------------------------------------------


async def v1_index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        rows = await service.list_v1(uow.session, account.id)
        return json_response([render_v1_filter(f, k) for f, k in rows])


async def v1_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        row, keyword = await service.show_v1(uow.session, account.id, path_id(request))
        return json_response(render_v1_filter(row, keyword))


async def v1_create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        row, keyword = await service.create_v1(uow, account.id, _v1_input(params))
        return json_response(render_v1_filter(row, keyword))


async def v1_update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        row, keyword = await service.update_v1(uow, account.id, path_id(request), _v1_input(params))
        return json_response(render_v1_filter(row, keyword))


async def v1_destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await service.delete_v1(uow, account.id, path_id(request))
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v2/filters/keywords/{id}", keyword_show, methods=["GET"]),
    Route("/api/v2/filters/keywords/{id}", keyword_update, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{id}", keyword_destroy, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{id}", status_show, methods=["GET"]),
    Route("/api/v2/filters/statuses/{id}", status_destroy, methods=["DELETE"]),
    # The same resources under flat names.
    Route("/api/v2/filter_keywords/{id}", keyword_show, methods=["GET"]),
    Route("/api/v2/filter_keywords/{id}", keyword_update, methods=["PUT"]),
    Route("/api/v2/filter_keywords/{id}", keyword_destroy, methods=["DELETE"]),
    Route("/api/v2/filter_statuses/{id}", status_show, methods=["GET"]),
    Route("/api/v2/filter_statuses/{id}", status_destroy, methods=["DELETE"]),
    Route("/api/v2/filters", index, methods=["GET"]),
    Route("/api/v2/filters", create, methods=["POST"]),
    Route("/api/v2/filters/{id}", show, methods=["GET"]),
    Route("/api/v2/filters/{id}", update, methods=["PUT"]),
    Route("/api/v2/filters/{id}", destroy, methods=["DELETE"]),
    Route("/api/v2/filters/{id}/keywords", keywords_index, methods=["GET"]),
    Route("/api/v2/filters/{id}/keywords", keywords_create, methods=["POST"]),
    Route("/api/v2/filters/{id}/statuses", statuses_index, methods=["GET"]),
    Route("/api/v2/filters/{id}/statuses", statuses_create, methods=["POST"]),
    Route("/api/v1/filters", v1_index, methods=["GET"]),
    Route("/api/v1/filters", v1_create, methods=["POST"]),
    Route("/api/v1/filters/{id}", v1_show, methods=["GET"]),
    Route("/api/v1/filters/{id}", v1_update, methods=["PUT"]),
    Route("/api/v1/filters/{id}", v1_destroy, methods=["DELETE"]),
]
