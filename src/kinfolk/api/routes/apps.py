"""POST /api/v1/apps and GET /api/v1/apps/verify_credentials."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require
from kinfolk.api.entities.application import render_application, render_credential_application
from kinfolk.api.http import json_response, read_params, validate
from kinfolk.domain.oauth.service import check_app_creation_rate, create_application
from kinfolk.infra.vapid import ensure_vapid_public_key
from kinfolk.kernel.errors import Unauthorized


class CreateAppParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    client_name: str = ""
    # Required by Mastodon; missing is reported as a blank redirect URI.
    redirect_uris: str | list[str] = ""
    scopes: str | list[str] | None = None
    website: str | None = None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def create_app(request: Request) -> Response:
    container = get_container(request)
    await check_app_creation_rate(container.ratelimiter, _client_ip(request))
    params = validate(CreateAppParams, await read_params(request))
    async with container.db.uow() as uow:
        app = await create_application(
            uow.session,
            name=params.client_name,
            redirect_uris=params.redirect_uris,
            scopes=params.scopes,
            website=params.website,
        )
    return json_response(render_credential_application(app, vapid_key=ensure_vapid_public_key(container)))


async def verify_credentials(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer = await require(request, uow, user=False)
    if viewer.application is None:
        raise Unauthorized("The access token is invalid")
    return json_response(render_application(viewer.application, vapid_key=ensure_vapid_public_key(container)))


routes: list[BaseRoute] = [
    Route("/api/v1/apps", create_app, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_credentials, methods=["GET", "HEAD"]),
]
