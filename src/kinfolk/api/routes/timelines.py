"""Timelines: home, public (local, remote, media), hashtag, list, and trending-link.

Each page is filtered for its viewer (`hide` filters drop statuses, the others mark them), and
its `Link` header pages by the statuses read, before filtering, so that paging never skips.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api import home_page
from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, require_user, viewer_account_id
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.http import as_bool, path_id, read_params
from kinfolk.api.paging import STATUSES, paged_response, parse_page
from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.filters.apply import apply_filters
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines import service
from kinfolk.kernel.errors import BadRequest, NotFound
from kinfolk.kernel.paging import Page


async def _page_response(
    request: Request,
    container: Container,
    uow: UnitOfWork,
    statuses: list[Status],
    page: Page,
    viewer_id: int | None,
    context: str,
) -> Response:
    ids = [s.id for s in statuses]
    shown, filtered = (
        await apply_filters(uow.session, viewer_id, statuses, context)
        if viewer_id is not None
        else (statuses, {})
    )
    rendered = await render_statuses(uow.session, container, shown, viewer_id, filters=filtered)
    return paged_response(
        request, rendered, page, ids, base_url=container.settings.base_url, next_requires_full_page=False
    )


async def _optional_viewer(request: Request, uow: UnitOfWork) -> int | None:
    """Public timelines need no token; a token given must be valid and may read statuses."""
    return viewer_account_id(await authorize_if_token(request, uow, "read:statuses"))


async def home(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(await read_params(request), STATUSES)
    fast = await home_page.serve(request, container, request.app.state.status_documents, page)
    if fast is not None:
        return fast
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, home_page.SCOPE)
        statuses = await service.home(uow.session, account.id, page)
        return await _page_response(request, container, uow, statuses, page, account.id, "home")


def _public_options(params: dict[str, Any]) -> service.PublicOptions:
    return service.PublicOptions(
        local=as_bool(params.get("local")),
        remote=as_bool(params.get("remote")),
        only_media=as_bool(params.get("only_media")),
    )


async def public(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, STATUSES)
    options = _public_options(params)
    async with container.db.uow(write=False) as uow:
        viewer_id = await _optional_viewer(request, uow)
        statuses = await service.public(uow.session, viewer_id, page, options)
        return await _page_response(request, container, uow, statuses, page, viewer_id, "public")


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, str):
        return [value]
    return []


async def hashtag(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, STATUSES)
    base = _public_options(params)
    options = service.TagOptions(
        local=base.local,
        remote=base.remote,
        only_media=base.only_media,
        any=_names(params.get("any")),
        all=_names(params.get("all")),
        none=_names(params.get("none")),
    )
    name = str(request.path_params.get("hashtag", ""))
    async with container.db.uow(write=False) as uow:
        viewer_id = await _optional_viewer(request, uow)
        statuses = await service.hashtag(uow.session, viewer_id, name, page, options) if name.strip() else []
        return await _page_response(request, container, uow, statuses, page, viewer_id, "public")


async def list_timeline(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(await read_params(request), STATUSES)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:lists")
        statuses = await service.list_timeline(uow.session, account.id, path_id(request, "list_id"), page)
        return await _page_response(request, container, uow, statuses, page, account.id, "home")


async def link(request: Request) -> Response:
    """Statuses sharing a trending link: no link trends here (yet), so never found, as Mastodon
    answers for a link that is not trending."""
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        await _optional_viewer(request, uow)
    if not isinstance(params.get("url"), str) or not params["url"].strip():
        raise BadRequest("param is missing or the value is empty: url")
    raise NotFound()


routes: list[BaseRoute] = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", hashtag, methods=["GET"]),
    Route("/api/v1/timelines/list/{list_id}", list_timeline, methods=["GET"]),
    Route("/api/v1/timelines/link", link, methods=["GET"]),
]
