"""Lists: create, read, update, delete; their members; the lists an account is in."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.list import render_list
from kinfolk.api.http import as_bool, json_response, path_id, read_params
from kinfolk.api.paging import Limits, paged_response, parse_page
from kinfolk.domain.timelines import lists
from kinfolk.domain.timelines.lists import ListParams
from kinfolk.kernel.errors import NotFound, Unprocessable

MEMBERS = Limits(default=40, maximum=40)
_ID_MAX = (1 << 63) - 1


def _params(params: dict[str, Any]) -> ListParams:
    title = params.get("title")
    policy = params.get("replies_policy")
    if title is not None and not isinstance(title, str):
        raise Unprocessable("Validation failed: Title is invalid")
    if policy is not None and not isinstance(policy, str):
        raise Unprocessable("Validation failed: Replies policy is not included in the list")
    exclusive = params.get("exclusive")
    return ListParams(
        title=title,
        replies_policy=policy or None,
        exclusive=None if exclusive is None else as_bool(exclusive),
    )


def _account_ids(params: dict[str, Any]) -> list[int]:
    """`account_ids[]` (or a single `account_ids`); an id that is no number is not found."""
    raw = params.get("account_ids")
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    ids = []
    for item in items:
        text = str(item).strip()
        if not text.isdigit() or not text.isascii() or int(text) > _ID_MAX:
            raise NotFound()
        ids.append(int(text))
    return ids


async def index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:lists")
        return json_response([render_list(item) for item in await lists.lists_of(uow.session, account.id)])


async def create(request: Request) -> Response:
    container = get_container(request)
    params = _params(await read_params(request))
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:lists")
        created = await lists.create_list(uow, account, params)
        body = render_list(created)
    return json_response(body)


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:lists")
        return json_response(render_list(await lists.get_list(uow.session, account.id, path_id(request))))


async def update(request: Request) -> Response:
    container = get_container(request)
    params = _params(await read_params(request))
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:lists")
        body = render_list(await lists.update_list(uow, account, path_id(request), params))
    return json_response(body)


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:lists")
        await lists.delete_list(uow, account, path_id(request))
    return json_response({})


async def members(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    unpaged = str(params.get("limit", "")).strip() == "0"
    page = parse_page(params, MEMBERS)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:lists")
        found = await lists.members(uow.session, account, path_id(request), None if unpaged else page)
        rendered = await render_accounts(uow.session, found, container)
        if unpaged:
            return json_response(rendered)
        return paged_response(
            request, rendered, page, [a.id for a in found], base_url=container.settings.base_url
        )


async def add_members(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:lists")
        list_id = path_id(request)
        await lists.add_members(uow, account, list_id, _account_ids(params))
    return json_response({})


async def remove_members(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:lists")
        list_id = path_id(request)
        await lists.remove_members(uow, account, list_id, _account_ids(params))
    return json_response({})


async def account_lists(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:lists")
        found = await lists.lists_with(uow.session, account, path_id(request))
        return json_response([render_list(item) for item in found])


routes: list[BaseRoute] = [
    Route("/api/v1/lists", index, methods=["GET"]),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=["GET"]),
    Route("/api/v1/lists/{id}", update, methods=["PUT", "PATCH"]),
    Route("/api/v1/lists/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", members, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_members, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_members, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", account_lists, methods=["GET"]),
]
