"""OAuth 2 endpoints: the authorize pages, token, revoke, and RFC 8414 server metadata.

GET /oauth/authorize shows a sign-in form (no session, or `force_login`) or a consent page;
POST /oauth/authorize takes both forms, told apart by `action` (sign_in, authorize, deny).
Both carry the authorization request as hidden fields and a CSRF token from the session.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.entities.token import render_token
from kinfolk.api.http import json_response, read_params
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth import grants
from kinfolk.domain.oauth.grants import AuthorizationRequest, AuthorizeError, param
from kinfolk.domain.oauth.models import Application
from kinfolk.domain.oauth.scopes import (
    ADMIN_READ_SCOPES,
    ADMIN_WRITE_SCOPES,
    READ_SCOPES,
    TOP_LEVEL,
    WRITE_SCOPES,
)
from kinfolk.domain.oauth.service import (
    SignInRefused,
    authenticate_client,
    authenticate_user,
    check_login_rate,
    record_sign_in,
    revoke_for_client,
    session_user,
)
from kinfolk.kernel.errors import OAuthError, TooManyRequests
from kinfolk.web.session import WebSession, load_session, save_session
from kinfolk.web.templating import NO_STORE, render_page

SCOPE_DESCRIPTIONS = {
    "read": "Read all of your account's data",
    "write": "Change all of your account's data",
    "follow": "Follow, mute and block accounts, and see who you follow, mute and block",
    "push": "Receive your push notifications",
    "profile": "Read only your profile's basic information",
    "admin:read": "Read all data on the server (administration)",
    "admin:write": "Moderate and change data on the server (administration)",
}
_NETLOC = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_TOKEN_HEADERS = {"Cache-Control": NO_STORE, "Pragma": "no-cache"}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _describe(scope: str) -> str:
    if scope in SCOPE_DESCRIPTIONS:
        return SCOPE_DESCRIPTIONS[scope]
    *prefix, thing = scope.split(":")
    verb = "Read" if prefix[-1:] == ["read"] else "Change"
    where = " (administration)" if prefix[:1] == ["admin"] else ""
    return f"{verb} your {thing.replace('_', ' ')}{where}"


def _csp_source(uri: str) -> str | None:
    """The CSP form-action source that lets a form's redirect reach `uri` (Chrome checks redirects)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"{scheme}://{host}" if host and _NETLOC.match(host) else None
    return f"{scheme}:" if _SCHEME.match(scheme) else None


def _base_context(settings: Settings) -> dict[str, Any]:
    return {"instance_title": settings.instance_title}


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


# --- pages --------------------------------------------------------------------------------


def _error_page(request: Request, settings: Settings, error: str, description: str, status: int) -> Response:
    if _wants_json(request):
        return json_response({"error": error, "error_description": description}, status_code=status)
    context = _base_context(settings) | {"error": error, "description": description}
    return render_page("oauth/error.html", context, status_code=status)


def _sign_in_page(
    settings: Settings,
    req: AuthorizationRequest,
    session: WebSession,
    *,
    error: str | None = None,
    email: str | None = None,
    status: int = 200,
) -> Response:
    context = _base_context(settings) | {
        "app_name": req.application.name,
        "oauth_fields": req.hidden_fields(),
        "csrf_token": session.csrf_token,
        "error": error,
        "email": email,
    }
    response = render_page("oauth/sign_in.html", context, status_code=status)
    save_session(response, session, settings)
    return response


def _consent_page(
    settings: Settings, req: AuthorizationRequest, session: WebSession, account: Account
) -> Response:
    switch = req.hidden_fields() | {"force_login": "true"}
    context = _base_context(settings) | {
        "app_name": req.application.name,
        "app_website": req.application.website,
        "username": account.username,
        "scopes": [(scope, _describe(scope)) for scope in req.scopes],
        "oauth_fields": req.hidden_fields(),
        "csrf_token": session.csrf_token,
        "switch_account_url": "/oauth/authorize?" + urlencode(switch),
    }
    source = None if req.is_oob else _csp_source(req.redirect_uri)
    response = render_page("oauth/authorize.html", context, form_action=[source] if source else [])
    save_session(response, session, settings)
    return response


def _send_back(
    request: Request, settings: Settings, req: AuthorizationRequest, values: dict[str, str]
) -> Response:
    """Deliver a code or an error to the client as its response mode asks."""
    if req.response_mode == "form_post":
        fields = dict(values) | ({"state": req.state} if req.state is not None else {})
        source = _csp_source(req.redirect_uri)
        context = _base_context(settings) | {
            "app_name": req.application.name,
            "action": req.redirect_uri,
            "fields": fields,
        }
        return render_page(
            "oauth/form_post.html", context, form_action=[source] if source else [], script=True
        )
    return RedirectResponse(
        grants.redirect_target(req, values), status_code=302, headers={"Cache-Control": NO_STORE}
    )


def _authorize_error(request: Request, settings: Settings, exc: AuthorizeError) -> Response:
    if not exc.redirect or exc.request is None or exc.request.is_oob:
        return _error_page(request, settings, exc.error, exc.description, 400)
    return _send_back(
        request, settings, exc.request, {"error": exc.error, "error_description": exc.description}
    )


async def _web_user(
    container: Container, uow_session: Any, session: WebSession
) -> tuple[User, Account] | None:
    user_id = session.user_id
    if user_id is None:
        return None
    found = await session_user(uow_session, user_id)
    if found is None or not session.still_valid_for(found[0], container.settings.ensure_secret_key()):
        session.sign_out()
        return None
    return found


# --- /oauth/authorize ---------------------------------------------------------------------


async def authorize_page(request: Request) -> Response:
    container = get_container(request)
    settings = container.settings
    session = load_session(request, settings)
    async with container.db.uow(write=False) as uow:
        try:
            req = await grants.validate_authorization_request(uow.session, request.query_params)
        except AuthorizeError as exc:
            return _authorize_error(request, settings, exc)
        found = None if req.force_login else await _web_user(container, uow.session, session)
    if found is None:
        return _sign_in_page(settings, req, session)
    return _consent_page(settings, req, session, found[1])


async def authorize_submit(request: Request) -> Response:
    container = get_container(request)
    settings = container.settings
    form = await read_params(request, include_query=False)
    session = load_session(request, settings)
    if not session.csrf_ok(form.get("authenticity_token")):
        response = _error_page(
            request,
            settings,
            "invalid_request",
            "This form has expired. Go back, reload the page and try again.",
            403,
        )
        save_session(response, session, settings)
        return response
    action = param(form, "action")
    if action == "sign_in":
        return await _sign_in(request, container, form, session)
    if action not in ("authorize", "deny"):
        return _error_page(request, settings, "invalid_request", "Unknown form action.", 400)
    async with container.db.uow() as uow:
        try:
            req = await grants.validate_authorization_request(uow.session, form)
        except AuthorizeError as exc:
            return _authorize_error(request, settings, exc)
        found = await _web_user(container, uow.session, session)
        if found is None:
            return _sign_in_page(settings, req, session)
        if action == "deny":
            description = "The resource owner or authorization server denied the request."
            if req.is_oob:
                return _error_page(request, settings, "access_denied", description, 403)
            return _send_back(
                request, settings, req, {"error": "access_denied", "error_description": description}
            )
        code = await grants.create_authorization_code(uow.session, req, found[0])
    if req.is_oob:
        context = _base_context(settings) | {"app_name": req.application.name, "code": code}
        return render_page("oauth/code.html", context)
    return _send_back(request, settings, req, {"code": code})


async def _sign_in(
    request: Request, container: Container, form: dict[str, Any], session: WebSession
) -> Response:
    settings = container.settings
    email = (param(form, "email") or "").strip()
    password = param(form, "password") or ""
    async with container.db.uow(write=False) as uow:
        try:
            req = await grants.validate_authorization_request(uow.session, form)
        except AuthorizeError as exc:
            return _authorize_error(request, settings, exc)
        try:
            await check_login_rate(container.ratelimiter, _client_ip(request), email)
        except TooManyRequests:
            return _sign_in_page(
                settings, req, session, email=email, status=429,
                error="Too many sign-in attempts. Wait a few minutes and try again.",
            )  # fmt: skip
        try:
            user, _account = await authenticate_user(uow.session, email, password)
        except SignInRefused as refused:
            status = 401 if refused.reason == "invalid" else 403
            return _sign_in_page(settings, req, session, error=refused.message, email=email, status=status)
    async with container.db.uow() as uow:
        await record_sign_in(uow.session, user.id)
    session.sign_in(user, settings.ensure_secret_key())
    # Back to the GET (without force_login), so reloading the consent page never re-posts a password.
    response = RedirectResponse(
        "/oauth/authorize?" + urlencode(req.hidden_fields()),
        status_code=303,
        headers={"Cache-Control": NO_STORE},
    )
    save_session(response, session, settings)
    return response


# --- /oauth/token and /oauth/revoke -------------------------------------------------------


def _client_credentials(request: Request, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """HTTP Basic (RFC 6749 2.3.1, form-encoded parts) wins over client_id/client_secret parameters."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None, None
        return unquote_plus(client_id), unquote_plus(secret)
    return param(params, "client_id"), param(params, "client_secret")


async def _authenticated_client(request: Request, params: dict[str, Any], uow_session: Any) -> Application:
    client_id, secret = _client_credentials(request, params)
    return await authenticate_client(uow_session, client_id, secret)


async def token(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    if param(params, "grant_type") == "password":
        async with container.db.uow(write=False) as uow:
            client = await _authenticated_client(request, params, uow.session)
            check = await grants.check_password_grant(
                uow.session, client, params, limiter=container.ratelimiter, client_ip=_client_ip(request)
            )
        async with container.db.uow() as uow:
            outcome = await grants.complete_password_grant(uow.session, check)
    else:
        async with container.db.uow() as uow:
            client = await _authenticated_client(request, params, uow.session)
            outcome = await grants.grant_token(uow.session, client, params)
    # A refused replayed code still commits the revocations it caused, then answers with the error.
    if outcome.error is not None:
        raise outcome.error
    assert outcome.issued is not None
    return json_response(render_token(outcome.issued), headers=_TOKEN_HEADERS)


async def revoke(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        try:
            client = await _authenticated_client(request, params, uow.session)
        except OAuthError:
            raise OAuthError(
                "unauthorized_client", "You are not authorized to revoke this token", 403
            ) from None
        plain = param(params, "token")
        if not plain:
            raise OAuthError("invalid_request", "Missing required parameter: token.")
        await revoke_for_client(uow, client, plain)
    return json_response({}, headers=_TOKEN_HEADERS)


# --- RFC 8414 -----------------------------------------------------------------------------


async def authorization_server_metadata(request: Request) -> Response:
    base = get_container(request).settings.base_url
    scopes = [*TOP_LEVEL, *READ_SCOPES, *WRITE_SCOPES, *ADMIN_READ_SCOPES, *ADMIN_WRITE_SCOPES]
    return json_response(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": [
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )


routes: list[BaseRoute] = [
    Route("/oauth/authorize", authorize_page, methods=["GET"]),
    Route("/oauth/authorize", authorize_submit, methods=["POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route(
        "/.well-known/oauth-authorization-server",
        authorization_server_metadata,
        methods=["GET", "HEAD"],
    ),
]
