"""Filing reports (`POST /api/v1/reports`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.report import render_report
from kinfolk.api.http import as_bool, id_value, json_response, read_params
from kinfolk.api.rate_limits import family
from kinfolk.domain import rate_limits
from kinfolk.domain.moderation.service import NewReport, file_report
from kinfolk.kernel.errors import NotFound

_ID_MAX = (1 << 63) - 1


def _items(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def _ids(value: Any) -> list[int]:
    """Ids that cannot name a row find nothing: a 404, as Mastodon's `find` gives."""
    out = []
    for item in _items(value):
        number = id_value(item)
        if number is None:
            raise NotFound()
        out.append(number)
    return out


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    account_ids = _ids(params.get("account_id"))
    comment = params.get("comment")
    category = params.get("category")
    async with container.db.uow() as uow:
        viewer, account, _ = await require_user(request, uow, "write:reports")
        new = NewReport(
            account_id=account_ids[0] if account_ids else None,
            status_ids=_ids(params.get("status_ids")),
            comment=comment if isinstance(comment, str) else "",
            forward=as_bool(params.get("forward")),
            category=str(category) if category not in (None, "") else None,
            rule_ids=_ids(params.get("rule_ids")),
            application_id=viewer.application.id if viewer.application else None,
        )
        async with family(request, rate_limits.REPORTS, account.id):
            report = await file_report(uow, account, new)
        body = await render_report(uow.session, container, report)
    return json_response(body)


routes: list[BaseRoute] = [
    Route("/api/v1/reports", create, methods=["POST"]),
    Route("/api/v1/reports/", create, methods=["POST"]),
]
