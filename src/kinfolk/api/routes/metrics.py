"""`GET /metrics`: Prometheus's text format, for an operator's scraper only.

Off (404, as if absent) unless KINFOLK_METRICS_TOKEN is set; then the scraper sends
`Authorization: Bearer <token>` (401 otherwise), since the figures (route traffic, queue backlog)
are not for the public.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import bearer_token
from kinfolk.api.http import json_response
from kinfolk.infra import metrics as prom


async def scrape(request: Request) -> Response:
    container = get_container(request)
    expected = container.settings.metrics_token
    if not expected:
        return json_response({"error": "Record not found"}, status_code=404)
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return json_response(
            {"error": "The access token is invalid"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    database = await prom.read_database(container)
    return Response(prom.render(database), media_type=prom.CONTENT_TYPE)


routes: list[BaseRoute] = [Route("/metrics", scrape, methods=["GET"])]
