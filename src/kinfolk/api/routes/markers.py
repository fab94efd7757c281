"""Read markers: `GET /api/v1/markers?timeline[]=home` and `POST /api/v1/markers`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.marker import render_markers
from kinfolk.api.http import json_response, read_params
from kinfolk.domain.timelines import markers
from kinfolk.kernel.errors import Unprocessable

_ID_MAX = (1 << 63) - 1


def _timelines(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [str(item) for item in items]


def _positions(params: dict[str, Any]) -> dict[str, int]:
    """`home[last_read_id]=...` (form or JSON) for each known timeline given."""
    positions: dict[str, int] = {}
    for timeline in markers.TIMELINES:
        entry = params.get(timeline)
        if not isinstance(entry, dict) or "last_read_id" not in entry:
            continue
        text = str(entry["last_read_id"]).strip()
        if not text.isdigit() or not text.isascii() or int(text) > _ID_MAX:
            raise Unprocessable(
                "Validation failed: Last read id is invalid",
                details={"last_read_id": [{"error": "ERR_INVALID", "description": "is invalid"}]},
            )
        positions[timeline] = int(text)
    return positions


async def index(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        found = await markers.markers(uow.session, account.id, _timelines(params.get("timeline")))
        return json_response(render_markers(found), headers={"Cache-Control": "private, no-store"})


async def create(request: Request) -> Response:
    container = get_container(request)
    positions = _positions(await read_params(request))
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:statuses")
        body = render_markers(await markers.save(uow, account.id, positions))
    return json_response(body, headers={"Cache-Control": "private, no-store"})


routes: list[BaseRoute] = [
    Route("/api/v1/markers", index, methods=["GET"]),
    Route("/api/v1/markers", create, methods=["POST"]),
]
