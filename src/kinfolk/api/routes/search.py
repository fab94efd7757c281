"""GET /api/v2/search."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, viewer_account_id
from kinfolk.api.entities.search import render_search
from kinfolk.api.http import as_bool, is_digits, json_response, read_params
from kinfolk.api.paging import STATUSES, parse_id, parse_limit
from kinfolk.domain import backfill
from kinfolk.domain.search.resolver import remote_resolver
from kinfolk.domain.search.service import SearchParams, resolve_remote, search
from kinfolk.kernel.errors import BadRequest


def _offset(value: Any) -> int:
    """Lenient like Rails' `to_i`: leading digits or zero."""
    text = str(value).strip() if value is not None else ""
    digits = ""
    for char in text:
        if not is_digits(char):
            break
        digits += char
    return int(digits[:9]) if digits else 0


def _params(params: dict[str, Any]) -> SearchParams:
    q = params.get("q")
    if not isinstance(q, str) or not q.strip():
        raise BadRequest("param is missing or the value is empty: q")
    kind = params.get("type")
    offset = params.get("offset")
    account_id = params.get("account_id")
    return SearchParams(
        q=q,
        type=kind if isinstance(kind, str) and kind else None,
        resolve=as_bool(params.get("resolve")),
        following=as_bool(params.get("following")),
        account_id=parse_id(account_id, "account_id") if isinstance(account_id, str | int) else None,
        exclude_unreviewed=as_bool(params.get("exclude_unreviewed")),
        max_id=parse_id(params.get("max_id"), "max_id"),
        min_id=parse_id(params.get("min_id"), "min_id"),
        limit=parse_limit(params.get("limit"), STATUSES),
        offset=_offset(offset),
        offset_given=offset not in (None, ""),
    )


async def index(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        # The token first, as Mastodon's before_actions: a scope refusal wins over a bad query.
        viewer_id = viewer_account_id(await authorize_if_token(request, uow, "read:search"))
        parsed = _params(params)
    # Remote lookups happen between two units of work: no transaction waits on another server.
    resolved = await resolve_remote(
        parsed, viewer_id=viewer_id, uris=container.uris, resolver=remote_resolver(container.extras)
    )
    async with container.db.uow(write=False) as uow:
        results = await search(
            uow.session, parsed, viewer_id=viewer_id, uris=container.uris, resolved=resolved
        )
        rendered = await render_search(uow.session, container, results, viewer_id)
        # A remote account looked up by its handle or URL: its recent public posts are fetched
        # in the background (once), so that its profile is not empty when opened.
        looked_up = resolved[1] if resolved is not None and resolved[0] == "account" else None
        if looked_up is not None and (
            not any(a.id == looked_up and a.domain is not None for a in results.accounts)
            or await backfill.profile_asked(uow, looked_up)
        ):
            looked_up = None
    if looked_up is not None:
        account_id = looked_up
        await backfill.ask_from_a_read(container.db, lambda uow: backfill.request_profile(uow, account_id))
    return json_response(rendered)


routes: list[BaseRoute] = [Route("/api/v2/search", index, methods=["GET"])]
