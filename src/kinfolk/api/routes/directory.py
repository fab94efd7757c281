"""The profile directory, `GET /api/v1/directory`: public, offset-paged, no Link header (as in
Mastodon, whose clients page it by `offset`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import current_viewer
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.http import as_bool, json_response
from kinfolk.api.offset_paging import parse_offset
from kinfolk.api.paging import ACCOUNTS, parse_limit
from kinfolk.domain.accounts import directory


async def show(request: Request) -> Response:
    container = get_container(request)
    params = request.query_params
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)  # a bad token is still a 401
        accounts = await directory.list_profiles(
            uow.session,
            local_only=as_bool(params.get("local")),
            order=directory.parse_order(params.get("order")),
            offset=parse_offset(params.get("offset")),
            limit=parse_limit(params.get("limit"), ACCOUNTS),
            viewer_id=viewer.account.id if viewer is not None and viewer.account is not None else None,
        )
        body = await render_accounts(uow.session, accounts, container)
    return json_response(body)


routes: list[BaseRoute] = [Route("/api/v1/directory", show, methods=["GET", "HEAD"])]
