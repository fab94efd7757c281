"""Every error leaves as Mastodon's JSON: `{"error": ...}`, with `error_description` for OAuth.

Messages are raised in English and translated here into the request's locale (kinfolk.i18n);
OAuth errors stay English, as their texts are part of RFC 6749's vocabulary.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.http import json_response
from kinfolk.api.locale import request_locale
from kinfolk.i18n import DEFAULT_LOCALE, translate, translate_description
from kinfolk.kernel.errors import KinfolkError, OAuthError

log = logging.getLogger("kinfolk.api")

_HTTP_MESSAGES = {
    404: "Record not found",
    405: "Method not allowed",
    401: "The access token is invalid",
    403: "This action is not allowed",
}


async def kinfolk_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KinfolkError)
    if isinstance(exc, OAuthError):
        return json_response(
            {"error": exc.error, "error_description": exc.message}, status_code=exc.status_code
        )
    locale = request_locale(request)
    body: dict[str, object] = {"error": translate(exc.message, locale)}
    if exc.details:
        body["details"] = _localised_details(exc.details, locale)
    headers = {"Retry-After": "60"} if exc.status_code == 429 else None
    return json_response(body, status_code=exc.status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code) or exc.detail or "Error"
    return json_response(
        {"error": translate(message, request_locale(request))},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


def is_input_out_of_range(exc: BaseException) -> bool:
    """Errors that only a value from the request can cause, whatever handler let it through: an
    integer or date past what Python's calendar or SQLite can hold (OverflowError), and
    PostgreSQL's data exceptions (SQLSTATE class 22: a NUL character, a string wider than its
    column, a number out of range). They are the client's to fix, so a 422, never a 500; the
    unit of work has rolled back, so nothing was stored."""
    if isinstance(exc, OverflowError):
        return True
    for candidate in (
        exc,
        getattr(exc, "orig", None),
        getattr(getattr(exc, "orig", None), "__cause__", None),
    ):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str) and state.startswith("22"):
            return True
    return False


async def unexpected_error(request: Request, exc: Exception) -> Response:
    if is_input_out_of_range(exc):
        log.warning("input out of range on %s %s: %s", request.method, request.url.path, exc)
        message = "Validation failed: A value is out of range or not valid here"
        return json_response({"error": translate(message, request_locale(request))}, status_code=422)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_response(
        {"error": translate("Internal server error", request_locale(request))}, status_code=500
    )


def _localised_details(details: dict[str, Any], locale: str) -> dict[str, Any]:
    """`details` with each problem's description translated; the codes stay as they are."""
    if locale == DEFAULT_LOCALE:
        return details
    out: dict[str, Any] = {}
    for name, items in details.items():
        if isinstance(items, list):
            out[name] = [
                {**item, "description": translate_description(item["description"], locale)}
                if isinstance(item, dict) and isinstance(item.get("description"), str)
                else item
                for item in items
            ]
        else:
            out[name] = items
    return out


EXCEPTION_HANDLERS = {
    KinfolkError: kinfolk_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
