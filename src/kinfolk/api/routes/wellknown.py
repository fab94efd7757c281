"""Discovery documents other servers and clients fetch first: WebFinger, host-meta, NodeInfo;
and the server's landing page at `/` (Mastodon.py reads the time from its `Date` header)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.entities import nodeinfo as nodeinfo_entity
from kinfolk.api.entities import webfinger as webfinger_entity
from kinfolk.api.http import JSONResponse, json_response
from kinfolk.domain.instance import service
from kinfolk.kernel.errors import KinfolkError
from kinfolk.web.templating import render_page

# Mastodon lets caches keep an answer for three days, and a refusal for three minutes.
FOUND_CACHE = "public, max-age=259200"
MISSING_CACHE = "public, max-age=180"


class JRDResponse(JSONResponse):
    media_type = "application/jrd+json; charset=utf-8"


async def webfinger(request: Request) -> Response:
    container = get_container(request)
    try:
        async with container.db.uow(write=False) as uow:
            account = await service.webfinger_account(
                uow.session, request.query_params.get("resource"), container.uris
            )
    except KinfolkError as exc:
        return json_response(
            {"error": exc.message}, exc.status_code, headers={"Cache-Control": MISSING_CACHE}
        )
    avatar = container.storage.url(account.avatar_key) if account.avatar_key else None
    body = webfinger_entity.render_jrd(account, container.settings, avatar_url=avatar)
    return JRDResponse(body, headers={"Cache-Control": FOUND_CACHE, "Vary": "Accept"})


async def host_meta(request: Request) -> Response:
    settings = get_container(request).settings
    return Response(
        webfinger_entity.render_host_meta_xml(settings),
        media_type="application/xrd+xml; charset=utf-8",
        headers={"Cache-Control": FOUND_CACHE},
    )


async def host_meta_json(request: Request) -> Response:
    settings = get_container(request).settings
    return JRDResponse(
        webfinger_entity.render_host_meta_json(settings), headers={"Cache-Control": FOUND_CACHE}
    )


async def nodeinfo_discovery(request: Request) -> Response:
    settings = get_container(request).settings
    return json_response(nodeinfo_entity.render_discovery(settings), headers={"Cache-Control": FOUND_CACHE})


async def nodeinfo(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in nodeinfo_entity.SCHEMA_VERSIONS:
        return json_response({"error": "Record not found"}, 404)
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        usage = await service.usage_cache(container.extras).get(uow.session)
    body = nodeinfo_entity.render_nodeinfo(version, container.settings, usage)
    response = json_response(body, headers={"Cache-Control": "public, max-age=1800"})
    response.headers["Content-Type"] = nodeinfo_entity.profile_content_type(version)
    return response


async def landing(request: Request) -> Response:
    """A small page saying which server this is; GET and HEAD."""
    settings = get_container(request).settings
    response = render_page(
        "landing.html",
        {
            "instance_title": settings.instance_title,
            "description": settings.instance_description,
            "domain": settings.domain,
        },
    )
    response.headers["Cache-Control"] = "public, max-age=15"
    return response


routes: list[BaseRoute] = [
    Route("/", landing, methods=["GET", "HEAD"]),
    Route("/.well-known/webfinger", webfinger, methods=["GET", "HEAD"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET", "HEAD"]),
    Route("/.well-known/host-meta.json", host_meta_json, methods=["GET", "HEAD"]),
    Route("/.well-known/nodeinfo", nodeinfo_discovery, methods=["GET", "HEAD"]),
    Route("/nodeinfo/{version}", nodeinfo, methods=["GET", "HEAD"]),
]
