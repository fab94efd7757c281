"""Relationships in the Mastodon client API: follow, block, mute, notes, endorsements, follow
requests, the lists of followers, blocks, mutes and domain blocks, and account search.

Registered before `accounts` so that `/api/v1/accounts/relationships` and its siblings are
matched here rather than taken for an account id; account ids in paths are digits only.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, require_user, viewer_account_id
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.relationship import (
    familiar_followers_json,
    muted_account_json,
    relationship_json,
    relationships_json,
)
from kinfolk.api.http import as_bool, json_response, path_id, read_params
from kinfolk.api.paging import ACCOUNTS, DOMAIN_BLOCKS, paged_response, parse_limit, parse_page
from kinfolk.api.rate_limits import family
from kinfolk.db.database import UnitOfWork
from kinfolk.domain import rate_limits
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.relationships import service
from kinfolk.domain.relationships.service import FollowOptions, Relationship
from kinfolk.domain.search.resolver import load_resolved, local_hosts, parse_handle, remote_resolver
from kinfolk.kernel.errors import BadRequest, Unprocessable

_ID_MAX = (1 << 63) - 1
_INT_RE = re.compile(r"^\s*\d+\s*$")

Action = Callable[[UnitOfWork, Account, int], Awaitable[Relationship]]


# -- parameter helpers ----------------------------------------------------------------------


def _ids(value: Any) -> list[int]:
    """`id[]=1&id[]=2` or `id=1`; ids that are not numbers are skipped, as Mastodon's `to_i` does."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    ids = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            number = item
        elif isinstance(item, str) and _INT_RE.match(item) and item.strip().isascii():
            number = int(item)
        else:
            continue
        if 0 < number <= _ID_MAX:
            ids.append(number)
    return ids


def _strings(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _follow_options(params: dict[str, Any]) -> FollowOptions:
    given = "languages" in params
    return FollowOptions(
        reblogs=as_bool(params["reblogs"], True) if "reblogs" in params else None,
        notify=as_bool(params["notify"]) if "notify" in params else None,
        languages=service.validate_languages(_strings(params.get("languages"))) if given else None,
        languages_given=given,
    )


def _duration(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise _bad_duration()
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) and value.isascii():
        return int(value)
    raise _bad_duration()


def _bad_duration() -> Unprocessable:
    return Unprocessable(
        "Validation failed: Duration must be a number of seconds",
        details={"duration": [{"error": "ERR_INVALID", "description": "is not a number"}]},
    )


def _offset(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)
    if isinstance(value, str) and _INT_RE.match(value) and value.strip().isascii():
        return int(value)
    return 0


async def _query_and_json(request: Request) -> dict[str, Any]:
    """Query parameters, plus a JSON body even on a GET, which Rails reads and Mastodon.py sends
    (`account_familiar_followers` passes its ids that way)."""
    params = await read_params(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "GET" and ctype == "application/json":
        body = await request.body()
        if body.strip():
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadRequest("Error occurred while parsing request parameters") from exc
            if isinstance(data, dict):
                params.update(data)
    return params


async def _user(request: Request, uow: UnitOfWork, scope: str) -> Account:
    _, account, _ = await require_user(request, uow, scope)
    return account


async def _optional_viewer_id(request: Request, uow: UnitOfWork, scope: str) -> int | None:
    """Public lists still check a token when one is sent: bad is 401, wrong scope 403."""
    return viewer_account_id(await authorize_if_token(request, uow, scope))


# -- writes that answer with a Relationship -------------------------------------------------


def _relationship_action(scope: str, action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        container = get_container(request)
        async with container.db.uow() as uow:
            account = await _user(request, uow, scope)
            rel = await action(uow, account, path_id(request))
        return json_response(relationship_json(rel))

    return endpoint


async def follow(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        account = await _user(request, uow, "write:follows")
        async with family(request, rate_limits.FOLLOWS, account.id):
            rel = await service.follow(uow, account, path_id(request), _follow_options(params))
    return json_response(relationship_json(rel))


async def mute(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        account = await _user(request, uow, "write:mutes")
        rel = await service.mute(
            uow,
            account,
            path_id(request),
            notifications=as_bool(params.get("notifications"), True),
            duration=_duration(params.get("duration")),
        )
    return json_response(relationship_json(rel))


async def note(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    comment = params.get("comment")
    async with container.db.uow() as uow:
        account = await _user(request, uow, "write:accounts")
        text = comment if isinstance(comment, str) else "" if comment is None else str(comment)
        rel = await service.set_note(uow, account, path_id(request), text)
    return json_response(relationship_json(rel))


# -- reads ----------------------------------------------------------------------------------


async def relationships(request: Request) -> Response:
    container = get_container(request)
    params = await _query_and_json(request)
    async with container.db.uow(write=False) as uow:
        account = await _user(request, uow, "read:follows")
        rels = await service.relationships(
            uow.session,
            account.id,
            _ids(params.get("id")),
            with_suspended=as_bool(params.get("with_suspended")),
        )
    return json_response(relationships_json(rels))


async def familiar_followers(request: Request) -> Response:
    container = get_container(request)
    params = await _query_and_json(request)
    async with container.db.uow(write=False) as uow:
        account = await _user(request, uow, "read:follows")
        results = await service.familiar_followers(uow.session, account.id, _ids(params.get("id")))
        everyone = list({a.id: a for r in results for a in r.accounts}.values())
        rendered = dict(
            zip(
                [a.id for a in everyone], await render_accounts(uow.session, everyone, container), strict=True
            )
        )
    return json_response(
        [familiar_followers_json(r.account_id, [rendered[a.id] for a in r.accounts]) for r in results]
    )


async def search(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    q = params.get("q")
    query = q if isinstance(q, str) else ""
    limit = parse_limit(params.get("limit"), ACCOUNTS)
    async with container.db.uow(write=False) as uow:
        account = await _user(request, uow, "read:accounts")
    resolved: int | None = None
    handle = parse_handle(query) if as_bool(params.get("resolve")) else None
    if handle is not None and handle[1] not in local_hosts(container.uris.host):
        # Outside any unit of work: WebFinger and the actor fetched (and stored) first.
        resolved = await remote_resolver(container.extras).resolve_handle(*handle)
    async with container.db.uow(write=False) as uow:
        found = await service.search_accounts(
            uow.session,
            account.id,
            query,
            local_domain=container.settings.domain,
            limit=limit,
            offset=_offset(params.get("offset")),
            following=as_bool(params.get("following")),
            resolve=as_bool(params.get("resolve")),
        )
        if resolved is not None:
            first = await load_resolved(uow.session, ("account", resolved), account.id)
            if isinstance(first, Account):
                found = [first, *[a for a in found if a.id != first.id]][:limit]
        body = await render_accounts(uow.session, found, container)
    return json_response(body)


def _account_list(
    lister: Callable[..., Awaitable[Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """A public, paged list of an account's accounts (followers, following, endorsements)."""

    async def endpoint(request: Request) -> Response:
        container = get_container(request)
        async with container.db.uow(write=False) as uow:
            viewer_id = await _optional_viewer_id(request, uow, "read:accounts")
            page = parse_page(request.query_params, ACCOUNTS)
            result = await lister(uow.session, viewer_id, path_id(request), page)
            body = await render_accounts(uow.session, result.items, container)
        return paged_response(request, body, page, result.ids, base_url=container.settings.base_url)

    return endpoint


def _own_list(scope: str, lister: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """A paged list of the signed-in user's own accounts (requests, blocks, endorsements)."""

    async def endpoint(request: Request) -> Response:
        container = get_container(request)
        async with container.db.uow(write=False) as uow:
            account = await _user(request, uow, scope)
            page = parse_page(request.query_params, ACCOUNTS)
            result = await lister(uow.session, account.id, page)
            body = await render_accounts(uow.session, result.items, container)
        return paged_response(request, body, page, result.ids, base_url=container.settings.base_url)

    return endpoint


async def own_endorsements(session: Any, viewer_id: int, page: Any) -> Any:
    return await service.list_endorsements(session, viewer_id, viewer_id, page)


async def mutes(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        account = await _user(request, uow, "read:mutes")
        page = parse_page(request.query_params, ACCOUNTS)
        result = await service.list_mutes(uow.session, account.id, page)
        rendered = await render_accounts(uow.session, [a for a, _ in result.items], container)
    body = [
        muted_account_json(data, expires) for data, (_, expires) in zip(rendered, result.items, strict=True)
    ]
    return paged_response(request, body, page, result.ids, base_url=container.settings.base_url)


# -- domain blocks --------------------------------------------------------------------------


async def domain_blocks(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        account = await _user(request, uow, "read:blocks")
        page = parse_page(request.query_params, DOMAIN_BLOCKS)
        result = await service.list_domain_blocks(uow.session, account.id, page)
    return paged_response(request, result.items, page, result.ids, base_url=container.settings.base_url)


async def block_domain(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        account = await _user(request, uow, "write:blocks")
        await service.block_domain(uow, account, params.get("domain"))
    return json_response({})


async def unblock_domain(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        account = await _user(request, uow, "write:blocks")
        await service.unblock_domain(uow, account, params.get("domain"))
    return json_response({})


_ACCOUNT = "/api/v1/accounts/{id:int}"

routes: list[BaseRoute] = [
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/accounts/familiar_followers", familiar_followers, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
    Route(f"{_ACCOUNT}/follow", follow, methods=["POST"]),
    Route(f"{_ACCOUNT}/unfollow", _relationship_action("write:follows", service.unfollow), methods=["POST"]),
    Route(
        f"{_ACCOUNT}/remove_from_followers",
        _relationship_action("write:follows", service.remove_from_followers),
        methods=["POST"],
    ),
    Route(f"{_ACCOUNT}/block", _relationship_action("write:blocks", service.block), methods=["POST"]),
    Route(f"{_ACCOUNT}/unblock", _relationship_action("write:blocks", service.unblock), methods=["POST"]),
    Route(f"{_ACCOUNT}/mute", mute, methods=["POST"]),
    Route(f"{_ACCOUNT}/unmute", _relationship_action("write:mutes", service.unmute), methods=["POST"]),
    Route(f"{_ACCOUNT}/note", note, methods=["POST"]),
    Route(f"{_ACCOUNT}/endorse", _relationship_action("write:accounts", service.endorse), methods=["POST"]),
    Route(
        f"{_ACCOUNT}/unendorse", _relationship_action("write:accounts", service.unendorse), methods=["POST"]
    ),
    # Before 4.4 endorsing was "pinning"; clients still call these.
    Route(f"{_ACCOUNT}/pin", _relationship_action("write:accounts", service.endorse), methods=["POST"]),
    Route(f"{_ACCOUNT}/unpin", _relationship_action("write:accounts", service.unendorse), methods=["POST"]),
    Route(f"{_ACCOUNT}/followers", _account_list(service.list_followers), methods=["GET"]),
    Route(f"{_ACCOUNT}/following", _account_list(service.list_following), methods=["GET"]),
    Route(f"{_ACCOUNT}/endorsements", _account_list(service.list_endorsements), methods=["GET"]),
    Route("/api/v1/endorsements", _own_list("read:accounts", own_endorsements), methods=["GET"]),
    Route(
        "/api/v1/follow_requests", _own_list("read:follows", service.list_follow_requests), methods=["GET"]
    ),
    Route(
        "/api/v1/follow_requests/{id:int}/authorize",
        _relationship_action("write:follows", service.authorize_follow_request),
        methods=["POST"],
    ),
    Route(
        "/api/v1/follow_requests/{id:int}/reject",
        _relationship_action("write:follows", service.reject_follow_request),
        methods=["POST"],
    ),
    Route("/api/v1/blocks", _own_list("read:blocks", service.list_blocks), methods=["GET"]),
    Route("/api/v1/mutes", mutes, methods=["GET"]),
    Route("/api/v1/domain_blocks", domain_blocks, methods=["GET"]),
    Route("/api/v1/domain_blocks", block_domain, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock_domain, methods=["DELETE"]),
]
