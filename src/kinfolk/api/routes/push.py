"""Web Push subscriptions (`/api/v1/push/subscription`): one per access token, so a client can
only ever see or change the subscription of the token it calls with."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import bearer_token, require_user
from kinfolk.api.entities.push_subscription import push_subscription_json
from kinfolk.api.http import as_bool, json_response, read_params
from kinfolk.domain.notifications import push
from kinfolk.infra.vapid import ensure_vapid_public_key

SCOPE = "push"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _alerts(data: dict[str, Any]) -> dict[str, bool]:
    """`data[alerts]` as Mastodon keeps it: known types only, as booleans, in its type order."""
    raw = _dict(data.get("alerts"))
    return {name: as_bool(raw[name]) for name in push.ALERT_TYPES if name in raw}


def _policy(params: dict[str, Any], data: dict[str, Any]) -> str:
    """`data[policy]`; the top-level `policy` that some clients send is taken when it is absent."""
    return push.check_policy(data.get("policy", params.get("policy")))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    subscription = _dict(params.get("subscription"))
    keys = _dict(subscription.get("keys"))
    data = _dict(params.get("data"))
    new = push.SubscriptionInput(
        endpoint=_str(subscription.get("endpoint")),
        p256dh=_str(keys.get("p256dh")),
        auth=_str(keys.get("auth")),
        standard=as_bool(subscription.get("standard")),
        alerts=_alerts(data),
        policy=_policy(params, data),
    )
    async with container.db.uow() as uow:
        viewer, account, _ = await require_user(request, uow, SCOPE)
        row = await push.subscribe(
            uow,
            account.id,
            viewer.token.id,
            bearer_token(request) or "",
            container.settings.ensure_secret_key(),
            new,
        )
        body = push_subscription_json(row, ensure_vapid_public_key(container))
    return json_response(body)


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer, _, _ = await require_user(request, uow, SCOPE)
        row = await push.current(uow, viewer.token.id)
        body = push_subscription_json(row, ensure_vapid_public_key(container))
    return json_response(body)


async def update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    data = _dict(params.get("data"))
    alerts, policy = _alerts(data), _policy(params, data)
    async with container.db.uow() as uow:
        viewer, _, _ = await require_user(request, uow, SCOPE)
        row = await push.change(uow, viewer.token.id, alerts, policy)
        body = push_subscription_json(row, ensure_vapid_public_key(container))
    return json_response(body)


async def destroy(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow() as uow:
        viewer, _, _ = await require_user(request, uow, SCOPE)
        await push.unsubscribe(uow, viewer.token.id)
    return json_response({})


routes: list[BaseRoute] = [
    Route("/api/v1/push/subscription", create, methods=["POST"]),
    Route("/api/v1/push/subscription", show, methods=["GET"]),
    Route("/api/v1/push/subscription", update, methods=["PUT"]),
    Route("/api/v1/push/subscription", destroy, methods=["DELETE"]),
]
