"""The instance API: what the server is, its limits, rules and figures; plus /health.

All of it is public, as on Mastodon: a token is neither needed nor looked at, except on the
announcements endpoints, which Mastodon keeps for signed-in users.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import current_viewer, require
from kinfolk.api.entities import instance as entity
from kinfolk.api.entities.account import render_account
from kinfolk.api.entities.rule import render_rules
from kinfolk.api.http import json_response
from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.instance import service
from kinfolk.domain.instance.languages import LANGUAGES
from kinfolk.domain.moderation.domain_blocks import list_blocks
from kinfolk.infra.vapid import ensure_vapid_public_key
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable

log = logging.getLogger("kinfolk.api.instance")

# The texts below come from the configuration, so they change only when the process restarts.
TEXTS_UPDATED_AT = utcnow()
THUMBNAIL_PNG = resources.files("kinfolk.api").joinpath("assets/thumbnail.png").read_bytes()


async def _contact(
    uow: UnitOfWork, overview: service.Overview, container: Container
) -> dict[str, Any] | None:
    if overview.contact is None:
        return None
    return await render_account(uow.session, overview.contact, container)


async def instance_v2(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        overview = await service.overview(
            uow.session, container.settings, service.usage_cache(container.extras)
        )
        contact = await _contact(uow, overview, container)
    vapid_key = ensure_vapid_public_key(container)
    return json_response(entity.render_instance(overview, container.settings, vapid_key, contact))


async def instance_v1(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        overview = await service.overview(
            uow.session, container.settings, service.usage_cache(container.extras)
        )
        contact = await _contact(uow, overview, container)
    return json_response(entity.render_instance_v1(overview, container.settings, contact))


async def rules(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        found = await service.list_rules(uow.session)
    return json_response(render_rules(found))


async def peers(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        domains = await service.peers(uow.session)
    return json_response(domains)


async def activity(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        weeks = await service.weekly_activity(uow.session)
    return json_response(entity.render_activity(weeks))


async def extended_description(request: Request) -> Response:
    settings = get_container(request).settings
    return json_response(entity.render_extended_description(settings, TEXTS_UPDATED_AT))


async def privacy_policy(request: Request) -> Response:
    settings = get_container(request).settings
    return json_response(entity.render_privacy_policy(settings, TEXTS_UPDATED_AT))


async def terms_of_service(request: Request) -> Response:
    """No terms of service can be configured yet; Mastodon answers 404 in that case."""
    raise NotFound()


async def languages(request: Request) -> Response:
    return json_response(entity.render_languages(LANGUAGES))


async def translation_languages(request: Request) -> Response:
    """No translation back end: no language pairs."""
    return json_response({})


async def domain_blocks(request: Request) -> Response:
    """The moderated servers, to whom `KINFOLK_SHOW_DOMAIN_BLOCKS` allows: nobody (a 404, as
    Mastodon answers by default), signed-in users, or everyone. Blocks that limit nothing a user
    would notice (a `noop` without rejected media) are left out, as Mastodon leaves them out."""
    container = get_container(request)
    shown_to = container.settings.show_domain_blocks
    if shown_to not in ("users", "all"):
        raise NotFound()
    async with container.db.uow(write=False) as uow:
        if shown_to == "users":
            viewer = await current_viewer(request, uow)
            if viewer is None or viewer.account is None:
                raise NotFound()
        blocks = await list_blocks(uow.session)
    return json_response(
        [
            entity.render_domain_block(block)
            for block in blocks
            if block.severity != "noop" or block.reject_media
        ]
    )


async def custom_emojis(request: Request) -> Response:
    return json_response([])


async def announcements(request: Request) -> Response:
    """Mastodon shows announcements to signed-in users only; there are none to show yet."""
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)
    if viewer is None or viewer.account is None:
        raise Unprocessable("This method requires an authenticated user")
    return json_response([])


async def dismiss_announcement(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        await require(request, uow, "write:accounts")
    raise NotFound()


async def thumbnail(request: Request) -> Response:
    return Response(
        THUMBNAIL_PNG,
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def health(request: Request) -> Response:
    """For load balancers and Mastodon.py's `instance_health()`: OK only if the database answers."""
    container = get_container(request)
    headers = {"Cache-Control": "no-store"}
    try:
        async with container.db.uow(write=False) as uow:
            await service.check_database(uow.session)
    except Exception:
        log.exception("health check: database unreachable")
        return PlainTextResponse("Service Unavailable", status_code=503, headers=headers)
    return PlainTextResponse("OK", headers=headers)


def _get(path: str, endpoint: object, *, slash: bool = False) -> list[BaseRoute]:
    """A public GET route; `slash` also serves `path/`, which Mastodon.py asks for."""
    paths = [path, path + "/"] if slash else [path]
    return [Route(p, endpoint, methods=["GET", "HEAD"]) for p in paths]  # type: ignore[arg-type]


routes: list[BaseRoute] = [
    *_get("/api/v2/instance", instance_v2, slash=True),
    *_get("/api/v1/instance", instance_v1, slash=True),
    *_get("/api/v1/instance/rules", rules),
    *_get("/api/v1/instance/peers", peers),
    *_get("/api/v1/instance/activity", activity),
    *_get("/api/v1/instance/extended_description", extended_description),
    *_get("/api/v1/instance/privacy_policy", privacy_policy),
    *_get("/api/v1/instance/terms_of_service", terms_of_service),
    *_get("/api/v1/instance/terms_of_service/{date}", terms_of_service),
    *_get("/api/v1/instance/languages", languages),
    *_get("/api/v1/instance/translation_languages", translation_languages),
    *_get("/api/v1/instance/domain_blocks", domain_blocks),
    *_get("/api/v1/custom_emojis", custom_emojis),
    *_get("/api/v1/announcements", announcements),
    Route("/api/v1/announcements/{id}/dismiss", dismiss_announcement, methods=["POST"]),
    *_get(entity.THUMBNAIL_PATH, thumbnail),
    Route("/health", health, methods=["GET", "HEAD"]),
]
