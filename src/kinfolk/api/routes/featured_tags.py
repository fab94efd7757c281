"""Featured tags on profiles: one's own (list, add, remove, suggestions) and other accounts'."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import current_viewer, require_user
from kinfolk.api.entities.tag import render_featured_tag, render_tags
from kinfolk.api.http import json_response, path_id, read_params
from kinfolk.domain.tags import service


async def index(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:accounts")
        found = await service.list_featured(uow.session, account.id)
        uris = container.uris
        return json_response([render_featured_tag(f, uris, account.acct) for f in found])


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:accounts")
        featured = await service.create_featured(uow, account.id, params.get("name"))
        return json_response(render_featured_tag(featured, container.uris, account.acct))


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:accounts")
        await service.delete_featured(uow, account.id, path_id(request))
    return json_response({})


async def suggestions(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:accounts")
        found = await service.featured_suggestions(uow.session, account.id)
        return json_response(render_tags(found, container.uris))


async def of_account(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        # Public, and Mastodon looks at no scope here: a token only has to be valid.
        await current_viewer(request, uow)
        account, found = await service.featured_of_account(uow.session, path_id(request))
        uris = container.uris
        return json_response([render_featured_tag(f, uris, account.acct) for f in found])


routes: list[BaseRoute] = [
    Route("/api/v1/featured_tags/suggestions", suggestions, methods=["GET"]),
    Route("/api/v1/featured_tags", index, methods=["GET"]),
    Route("/api/v1/featured_tags", create, methods=["POST"]),
    Route("/api/v1/featured_tags/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/featured_tags", of_account, methods=["GET"]),
]
