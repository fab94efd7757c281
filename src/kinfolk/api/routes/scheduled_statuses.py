"""Scheduled statuses: list, show, reschedule, cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.scheduled_status import render_scheduled
from kinfolk.api.http import json_response, path_id, read_params
from kinfolk.api.paging import STATUSES, paged_response, parse_page
from kinfolk.api.params_status import parse_scheduled_at
from kinfolk.domain.statuses import scheduled
from kinfolk.kernel.errors import Unprocessable


async def index(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(request.query_params, STATUSES)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        items = await scheduled.list_for(uow.session, account.id, page)
        body = await render_scheduled(uow.session, container, items)
        return paged_response(
            request, body, page, [i.id for i in items], base_url=container.settings.base_url
        )


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        item = await scheduled.get_own(uow.session, account.id, path_id(request))
        return json_response((await render_scheduled(uow.session, container, [item]))[0])


async def update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:statuses")
        item = await scheduled.get_own(uow.session, account.id, path_id(request))
        when = parse_scheduled_at(params.get("scheduled_at"))
        if when is None:
            raise Unprocessable("Validation failed: Scheduled at can't be blank")
        await scheduled.reschedule(uow.session, item, when)
        return json_response((await render_scheduled(uow.session, container, [item]))[0])


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:statuses")
        item = await scheduled.get_own(uow.session, account.id, path_id(request))
        await scheduled.cancel(uow.session, item)
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/scheduled_statuses", index, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", show, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", update, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{id}", destroy, methods=["DELETE"]),
]
