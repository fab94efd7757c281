"""Trends: tags, statuses and links, read from the periodically computed ranking."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import current_viewer
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.entities.tag import render_tags
from kinfolk.api.entities.trends import render_trending_link
from kinfolk.api.http import is_digits, json_response, read_params
from kinfolk.api.paging import Limits, parse_limit
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.trends import service

TAGS = Limits(default=10, maximum=20)
STATUSES = Limits(default=20, maximum=40)
LINKS = Limits(default=10, maximum=20)
_MAX_OFFSET = 10_000


def _offset(value: Any) -> int:
    text = str(value).strip() if value is not None else ""
    return min(int(text[:9]), _MAX_OFFSET) if is_digits(text) else 0


async def _viewer_id(request: Request, uow: UnitOfWork) -> int | None:
    """Trends are public; a token (of any scope) only personalises them."""
    viewer = await current_viewer(request, uow)
    return viewer.account.id if viewer is not None and viewer.account is not None else None


async def tags(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        viewer_id = await _viewer_id(request, uow)
        found = await service.trending_tags(
            uow.session, viewer_id, parse_limit(params.get("limit"), TAGS), _offset(params.get("offset"))
        )
        return json_response(render_tags(found, container.uris))


async def statuses(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        viewer_id = await _viewer_id(request, uow)
        found = await service.trending_statuses(
            uow.session, viewer_id, parse_limit(params.get("limit"), STATUSES), _offset(params.get("offset"))
        )
        return json_response(await render_statuses(uow.session, container, found, viewer_id))


async def links(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        await _viewer_id(request, uow)
        found = await service.trending_links(
            uow.session, parse_limit(params.get("limit"), LINKS), _offset(params.get("offset"))
        )
        return json_response([render_trending_link(link) for link in found])


routes: list[BaseRoute] = [
    Route("/api/v1/trends", tags, methods=["GET"]),
    Route("/api/v1/trends/tags", tags, methods=["GET"]),
    Route("/api/v1/trends/statuses", statuses, methods=["GET"]),
    Route("/api/v1/trends/links", links, methods=["GET"]),
]
