"""Notifications in the Mastodon client API: v1 lists, v2 grouped lists, the filtering policy
and the requests it opens. Every lookup is scoped to the caller: someone else's notification,
group or request is simply not found."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import require_user
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.notification import render_notifications
from kinfolk.api.entities.notification_group import render_grouped
from kinfolk.api.entities.notification_policy import policy_json, policy_v1_json
from kinfolk.api.entities.notification_request import render_requests
from kinfolk.api.http import as_bool, id_value, json_response, path_id, read_params
from kinfolk.api.paging import Limits, paged_response, parse_limit, parse_page
from kinfolk.domain.notifications import listing, policy
from kinfolk.domain.notifications.repo import Browse
from kinfolk.kernel.errors import BadRequest, NotFound

NOTIFICATIONS = Limits(default=40, maximum=80)
UNREAD = Limits(default=100, maximum=1000)
REQUESTS = Limits(default=40, maximum=80)
_ID_MAX = (1 << 63) - 1
READ = "read:notifications"
WRITE = "write:notifications"


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    return [str(v) for v in items]


def _ids(value: Any) -> list[int]:
    return [n for n in (id_value(v) for v in _list(value)) if n is not None]


def _browse(viewer_id: int, params: dict[str, Any]) -> Browse | None:
    """The listing asked for; None when `account_id` names no possible account (an empty list)."""
    from_account_id = None
    raw = params.get("account_id")
    if raw not in (None, ""):
        from_account_id = id_value(raw if isinstance(raw, int) else str(raw))
        if from_account_id is None:
            return None
    return listing.browse_for(
        viewer_id,
        types=_list(params.get("types")),
        exclude_types=_list(params.get("exclude_types")),
        from_account_id=from_account_id,
        include_filtered=as_bool(params.get("include_filtered")),
    )


def _grouped_types(params: dict[str, Any]) -> tuple[str, ...] | None:
    if "grouped_types" not in params:
        return None
    return listing.grouped_types_for(_list(params.get("grouped_types")))


def _base_url(request: Request) -> str:
    return get_container(request).settings.base_url


# -- v1 ---------------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, NOTIFICATIONS)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        browse = _browse(account.id, params)
        if browse is None:
            return json_response([])
        found = await listing.page_of(uow.session, browse, page)
        body = await render_notifications(
            uow.session, container, found.notifications, found.loaded, account.id
        )
    return paged_response(
        request, body, page, found.ids, base_url=_base_url(request), next_requires_full_page=False
    )


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        found = await listing.one(uow.session, account.id, path_id(request))
        body = await render_notifications(
            uow.session, container, found.notifications, found.loaded, account.id
        )
    if not body:
        raise NotFound()
    return json_response(body[0])


async def dismiss(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await listing.dismiss(uow, account.id, path_id(request))
    return json_response({})


async def clear(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await listing.clear(uow, account.id)
    return json_response({})


async def unread_count(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    limit = parse_limit(params.get("limit"), UNREAD)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        browse = _browse(account.id, params)
        count = 0 if browse is None else await listing.unread_count(uow.session, browse, limit)
    return json_response({"count": count})


# -- v2 ---------------------------------------------------------------------------------------


def _expand_accounts(params: dict[str, Any]) -> bool:
    """True for `partial_avatars`; `full` (or nothing) is the default; anything else is a 400."""
    value = params.get("expand_accounts")
    if value in (None, "full"):
        return False
    if value == "partial_avatars":
        return True
    raise BadRequest(
        f"Invalid value for 'expand_accounts': '{value}', allowed values are 'full' and 'partial_avatars'"
    )


async def grouped_index(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, NOTIFICATIONS)
    partial = _expand_accounts(params)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        browse = _browse(account.id, params)
        if browse is None:
            empty: dict[str, Any] = {"accounts": [], "statuses": [], "notification_groups": []}
            return json_response(empty | ({"partial_accounts": []} if partial else {}))
        found = await listing.grouped_page(uow.session, uow.db.dialect, browse, page, _grouped_types(params))
        body = await render_grouped(uow.session, container, found, account.id, partial_avatars=partial)
    return paged_response(
        request, body, page, found.ids, base_url=_base_url(request), next_requires_full_page=False
    )


async def grouped_show(request: Request) -> Response:
    container = get_container(request)
    key = str(request.path_params["group_key"])
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        found = await listing.one_group(uow.session, account.id, key)
        body = await render_grouped(uow.session, container, found, account.id)
    return json_response(body)


async def grouped_dismiss(request: Request) -> Response:
    container = get_container(request)
    key = str(request.path_params["group_key"])
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        await listing.dismiss_group(uow, account.id, key)
    return json_response({})


async def grouped_accounts(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, NOTIFICATIONS)
    key = str(request.path_params["group_key"])
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        rows = await listing.group_accounts(uow.session, account.id, key, page)
        body = await render_accounts(uow.session, [a for _, a in rows], container)
    return paged_response(request, body, page, [i for i, _ in rows], base_url=_base_url(request))


async def grouped_unread_count(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    limit = parse_limit(params.get("limit"), UNREAD)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        browse = _browse(account.id, params)
        count = (
            0
            if browse is None
            else await listing.unread_group_count(
                uow.session, uow.db.dialect, browse, limit, _grouped_types(params)
            )
        )
    return json_response({"count": count})


# -- policy -----------------------------------------------------------------------------------


async def policy_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        view = await policy.get(uow, account.id)
    return json_response(policy_json(view))


async def policy_update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        view = await policy.update(uow, account.id, params)
    return json_response(policy_json(view))


async def policy_v1_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        view = await policy.get(uow, account.id)
    return json_response(policy_v1_json(view))


async def policy_v1_update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    flags = {k: as_bool(params[k]) for k in policy.V1_FLAGS if k in params}
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, WRITE)
        view = await policy.update_v1(uow, account.id, flags)
    return json_response(policy_v1_json(view))


# -- requests ---------------------------------------------------------------------------------


async def requests_index(request: Request) -> Response:
    container = get_container(request)
    page = parse_page(await read_params(request), REQUESTS)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        found = await policy.requests_page(uow.session, account.id, page)
        body = await render_requests(uow.session, container, found, account.id)
    return paged_response(
        request,
        body,
        page,
        [r.id for r in found.requests],
        base_url=_base_url(request),
        next_requires_full_page=False,
    )


async def requests_show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, READ)
        found = await policy.request(uow.session, account.id, path_id(request))
        body = await render_requests(uow.session, container, found, account.id)
    if not body:
        raise NotFound()
    return json_response(body[0])


def _request_action(action: str) -> Any:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        async with container.db.uow() as uow:
            _, account, _ = await require_user(request, uow, WRITE)
            operation = policy.accept if action == "accept" else policy.dismiss
            await operation(uow, account.id, path_id(request))
        return json_response({})

    return handler


def _requests_bulk(action: str) -> Any:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        params = await read_params(request)
        ids = _ids(params.get("id"))
        async with container.db.uow() as uow:
            _, account, _ = await require_user(request, uow, WRITE)
            operation = policy.accept_many if action == "accept" else policy.dismiss_many
            await operation(uow, account.id, ids)
        return json_response({})

    return handler


async def requests_merged(request: Request) -> Response:
    """Accepting merges the held-back notifications in the same transaction: always merged."""
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        await require_user(request, uow, READ)
    return json_response({"merged": True})


routes: list[BaseRoute] = [
    Route("/api/v1/notifications", index, methods=["GET"]),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v1/notifications/policy", policy_v1_show, methods=["GET"]),
    Route("/api/v1/notifications/policy", policy_v1_update, methods=["PUT", "PATCH"]),
    Route("/api/v1/notifications/requests", requests_index, methods=["GET"]),
    Route("/api/v1/notifications/requests/merged", requests_merged, methods=["GET"]),
    Route("/api/v1/notifications/requests/accept", _requests_bulk("accept"), methods=["POST"]),
    Route("/api/v1/notifications/requests/dismiss", _requests_bulk("dismiss"), methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}", requests_show, methods=["GET"]),
    Route("/api/v1/notifications/requests/{id}/accept", _request_action("accept"), methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}/dismiss", _request_action("dismiss"), methods=["POST"]),
    Route("/api/v1/notifications/{id}", show, methods=["GET"]),
    Route("/api/v1/notifications/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v2/notifications", grouped_index, methods=["GET"]),
    Route("/api/v2/notifications/unread_count", grouped_unread_count, methods=["GET"]),
    Route("/api/v2/notifications/policy", policy_show, methods=["GET"]),
    Route("/api/v2/notifications/policy", policy_update, methods=["PATCH", "PUT"]),
    Route("/api/v2/notifications/{group_key}", grouped_show, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/dismiss", grouped_dismiss, methods=["POST"]),
    Route("/api/v2/notifications/{group_key}/accounts", grouped_accounts, methods=["GET"]),
]
