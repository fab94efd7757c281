"""Direct conversations: list, mark read, remove."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.conversation import render_conversation, render_conversations
from kinfolk.api.http import json_response, path_id, read_params
from kinfolk.api.paging import STATUSES, paged_response, parse_page
from kinfolk.domain.timelines import conversations


async def index(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(await read_params(request), STATUSES)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        rows = await conversations.page_of(uow.session, account.id, page)
        rendered = await render_conversations(uow.session, container, rows, account.id)
        ids = [row.last_status_id for row in rows if row.last_status_id is not None]
        return paged_response(request, rendered, page, ids, base_url=container.settings.base_url)


async def read(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:conversations")
        row = await conversations.mark_read(uow, account.id, path_id(request))
        body = await render_conversation(uow.session, container, row, account.id)
    return json_response(body)


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:conversations")
        await conversations.remove(uow, account.id, path_id(request))
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/conversations", index, methods=["GET"]),
    # Mastodon.py asks with a trailing slash; answering it directly avoids a redirect.
    Route("/api/v1/conversations/", index, methods=["GET"]),
    Route("/api/v1/conversations/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/conversations/{id}/read", read, methods=["POST"]),
]
