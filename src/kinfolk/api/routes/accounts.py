"""Accounts in the Mastodon client API: sign-up, own profile, viewing and looking up profiles,
and preferences."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, require, require_user
from kinfolk.api.entities.account import render_account, render_accounts, render_credential_account
from kinfolk.api.entities.preferences import preferences_json
from kinfolk.api.entities.token import render_token
from kinfolk.api.http import as_bool, json_response, read_params
from kinfolk.api.rate_limits import record
from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts import links, service
from kinfolk.domain.accounts.profile import PROFILE_IMAGE_MAX_BYTES, REMOVE, ImageInput
from kinfolk.domain.accounts.registration import (
    Registration,
    count_signup,
    register,
    resend_confirmation_for,
)
from kinfolk.kernel.errors import BadRequest, TooManyRequests, Unprocessable

MAX_ACCOUNTS_PER_REQUEST = 40
_ABSENT = object()


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _str(value: Any) -> str:
    if value is None or isinstance(value, UploadFile | dict | list):
        return ""
    return str(value)


async def _authorize_if_token(request: Request, uow: UnitOfWork, scope: str) -> None:
    """Public endpoints still check a token when one is sent: bad is 401, wrong scope 403."""
    await authorize_if_token(request, uow, scope)


async def create_account(request: Request) -> Response:
    container = get_container(request)
    ip = _client_ip(request)
    signup = await count_signup(container.ratelimiter, ip)
    record(request.scope, signup)  # the answer's X-RateLimit-* headers, 429 included
    if not signup.allowed:
        raise TooManyRequests("Too many requests")
    async with container.db.uow(write=False) as uow:
        viewer = await require(request, uow, "write:accounts", user=False)
    try:
        params = await read_params(request)
    finally:
        await request.close()
    registration = Registration(
        username=_str(params.get("username")).strip(),
        email=_str(params.get("email")).strip(),
        password=_str(params.get("password")),
        agreement=as_bool(params.get("agreement")),
        locale=_str(params.get("locale")) or None,
        reason=_str(params.get("reason")),
        ip=ip,
    )
    async with container.db.uow() as uow:
        issued = await register(
            uow.session,
            registration,
            mode=container.settings.registrations,
            application=viewer.application,
            scopes=viewer.scopes,
            uris=container.uris,
        )
        # Staff are told of each sign-up (admin.sign_up notifications) by a job.
        await uow.enqueue("notifications.admin_sign_up", {"user_id": issued.row.user_id})
    return json_response(render_token(issued))


async def verify_credentials(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, user = await require_user(request, uow, "read:accounts", "profile")
        body = await render_credential_account(uow.session, account, user, container)
    return json_response(body)


async def _image_input(value: Any) -> ImageInput:
    """An uploaded file's bytes (read no further than the limit), a removal, or no change."""
    if value is _ABSENT:
        return None
    if isinstance(value, UploadFile):
        data = await value.read(PROFILE_IMAGE_MAX_BYTES + 1)
        if not data and not value.filename:
            return None  # an HTML form's file input left empty
        return data
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return REMOVE
    # Anything else (a URL, some text) is not an image; let the image check say so.
    return str(value).encode()[: PROFILE_IMAGE_MAX_BYTES + 1]


async def update_credentials(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer, _, _ = await require_user(request, uow, "write:accounts")
    assert viewer.account is not None
    try:
        params = await read_params(request)
        avatar = await _image_input(params.pop("avatar", _ABSENT))
        header = await _image_input(params.pop("header", _ABSENT))
    finally:
        await request.close()  # uploaded files are spooled to temporary files
    prepared = await service.prepare_profile_update(params, avatar=avatar, header=header)
    files = service.StoredFiles()
    try:
        async with container.db.uow() as uow:
            account, user = await service.apply_profile_update(
                uow.session,
                container.storage,
                viewer.account.id,
                prepared,
                uris=container.uris,
                local_domain=container.settings.domain,
                files=files,
            )
            if prepared.changes.fields is not None:
                await links.links_changed(uow, account)
            await outbox.profile_updated(uow, account.id)
            body = await render_credential_account(uow.session, account, user, container)
    except BaseException:
        await service.discard_files(container.storage, files.written)
        raise
    await service.discard_files(container.storage, files.replaced)
    return json_response(body)


async def delete_picture(request: Request) -> Response:
    """DELETE /api/v1/profile/avatar or /header: back to the default picture (alt text stays)."""
    container = get_container(request)
    picture = request.path_params["picture"]
    async with container.db.uow(write=False) as uow:
        viewer, _, _ = await require_user(request, uow, "write:accounts")
    assert viewer.account is not None
    if picture not in ("avatar", "header"):
        raise BadRequest('Picture must be either "avatar" or "header"')
    images: dict[str, ImageInput] = {picture: REMOVE}
    prepared = await service.prepare_profile_update({}, **images)
    files = service.StoredFiles()
    async with container.db.uow() as uow:
        account, user = await service.apply_profile_update(
            uow.session,
            container.storage,
            viewer.account.id,
            prepared,
            uris=container.uris,
            local_domain=container.settings.domain,
            files=files,
        )
        await outbox.profile_updated(uow, account.id)
        body = await render_credential_account(uow.session, account, user, container)
    await service.discard_files(container.storage, files.replaced)
    return json_response(body)


async def resend_confirmation(request: Request) -> Response:
    """POST /api/v1/emails/confirmations (see `resend_confirmation_for`)."""
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        viewer = await require(request, uow, "write:accounts", user=False)
        resend_confirmation_for(viewer.user, new_email="email" in params)
    return json_response({})


async def check_confirmation(request: Request) -> Response:
    """GET /api/v1/emails/check_confirmation: whether the signed-in user's address is confirmed."""
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer = await authorize_if_token(request, uow, "read:accounts")
        if viewer is None or viewer.user is None:
            raise Unprocessable("This method requires an authenticated user")
        confirmed = viewer.user.confirmed_at is not None
    return json_response(confirmed)


async def show_account(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        await _authorize_if_token(request, uow, "read:accounts")
        account = await service.get_viewable_account(uow.session, str(request.path_params["id"]))
        body = await render_account(uow.session, account, container)
    return json_response(body)


async def list_accounts(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    raw = params.get("id", [])
    ids = [_str(v) for v in (raw if isinstance(raw, list) else [raw])]
    if len(ids) > MAX_ACCOUNTS_PER_REQUEST:
        raise Unprocessable(f"Validation failed: Too many ids (maximum is {MAX_ACCOUNTS_PER_REQUEST})")
    async with container.db.uow(write=False) as uow:
        await _authorize_if_token(request, uow, "read:accounts")
        accounts = await service.get_viewable_accounts(uow.session, ids)
        body = await render_accounts(uow.session, accounts, container)
    return json_response(body)


async def lookup_account(request: Request) -> Response:
    container = get_container(request)
    acct = _str(request.query_params.get("acct")).strip()
    async with container.db.uow(write=False) as uow:
        await _authorize_if_token(request, uow, "read:accounts")
        if not acct:
            raise BadRequest("param is missing or the value is empty: acct")
        account = await service.lookup_account(uow.session, acct, local_domain=container.settings.domain)
        body = await render_account(uow.session, account, container)
    return json_response(body)


async def preferences(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, _, user = await require_user(request, uow, "read:accounts")
    return json_response(preferences_json(user))


routes: list[BaseRoute] = [
    Route("/api/v1/accounts", create_account, methods=["POST"]),
    Route("/api/v1/accounts", list_accounts, methods=["GET"]),
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup_account, methods=["GET"]),
    # Digits only, so that sibling paths other areas add (relationships, search...) never land here.
    Route("/api/v1/accounts/{id:int}", show_account, methods=["GET"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/profile/{picture}", delete_picture, methods=["DELETE"]),
    Route("/api/v1/emails/confirmations", resend_confirmation, methods=["POST"]),
    Route("/api/v1/emails/check_confirmation", check_confirmation, methods=["GET"]),
]
