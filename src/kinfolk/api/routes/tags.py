"""Hashtags: show with history, follow and unfollow, feature and unfeature, followed tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import current_viewer, require_user
from kinfolk.api.entities.tag import render_tag, render_tags
from kinfolk.api.http import json_response, read_params
from kinfolk.api.paging import Limits, paged_response, parse_page
from kinfolk.api.rate_limits import family
from kinfolk.db.database import UnitOfWork
from kinfolk.domain import rate_limits
from kinfolk.domain.rate_limits import Limit
from kinfolk.domain.tags import service
from kinfolk.domain.tags.service import TagView

FOLLOWED_TAGS = Limits(default=100, maximum=200)


def _name(request: Request) -> str:
    return str(request.path_params.get("name", ""))


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        # Public, as in Mastodon: a token only adds the viewer's `following` and `featuring`.
        viewer = await current_viewer(request, uow)
        viewer_id = viewer.account.id if viewer and viewer.account else None
        view = await service.show(uow.session, _name(request), viewer_id)
        return json_response(render_tag(view, container.uris))


def _action(
    act: Callable[[UnitOfWork, int, str], Awaitable[TagView]], *scopes: str, limit: Limit | None = None
) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        async with container.db.uow() as uow:
            _, account, _ = await require_user(request, uow, *scopes)
            if limit is not None:
                async with family(request, limit, account.id):
                    view = await act(uow, account.id, _name(request))
            else:
                view = await act(uow, account.id, _name(request))
            return json_response(render_tag(view, container.uris))

    return handler


async def followed_tags(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(await read_params(request), FOLLOWED_TAGS)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:follows", "follow")
        found = await service.followed(uow.session, account.id, page)
        body = render_tags(found.items, container.uris)
        return paged_response(request, body, page, found.ids, base_url=container.settings.base_url)


_FOLLOW_SCOPES = ("follow", "write:follows")
_FEATURE_SCOPES = ("write:accounts",)

routes: list[BaseRoute] = [
    Route("/api/v1/followed_tags", followed_tags, methods=["GET"]),
    Route("/api/v1/tags/{name}", show, methods=["GET"]),
    Route(
        "/api/v1/tags/{name}/follow",
        _action(service.follow, *_FOLLOW_SCOPES, limit=rate_limits.FOLLOWS),
        methods=["POST"],
    ),
    Route("/api/v1/tags/{name}/unfollow", _action(service.unfollow, *_FOLLOW_SCOPES), methods=["POST"]),
    Route("/api/v1/tags/{name}/feature", _action(service.feature, *_FEATURE_SCOPES), methods=["POST"]),
    Route("/api/v1/tags/{name}/unfeature", _action(service.unfeature, *_FEATURE_SCOPES), methods=["POST"]),
]
