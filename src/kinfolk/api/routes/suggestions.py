"""Follow suggestions: v2 (with sources), v1 (accounts only), and dismissing one."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.suggestion import render_suggestion
from kinfolk.api.http import json_response, path_id, read_params
from kinfolk.api.paging import ACCOUNTS, parse_limit
from kinfolk.domain.suggestions import service


async def _rendered(request: Request) -> list[dict[str, Any]]:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:accounts")
        found = await service.suggestions(uow.session, account.id, parse_limit(params.get("limit"), ACCOUNTS))
        return await render_accounts(uow.session, found, container) if found else []


async def index_v2(request: Request) -> Response:
    return json_response([render_suggestion(a, service.SOURCES) for a in await _rendered(request)])


async def index_v1(request: Request) -> Response:
    return json_response(await _rendered(request))


async def dismiss(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:accounts")
        await service.dismiss(uow, account.id, path_id(request))
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v2/suggestions", index_v2, methods=["GET"]),
    Route("/api/v1/suggestions", index_v1, methods=["GET"]),
    Route("/api/v1/suggestions/{id}", dismiss, methods=["DELETE"]),
]
