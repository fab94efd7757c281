"""Every error leaves as Mastodon's JSON: `{"error": ...}`, with `error_description` for OAuth.

Messages are raised in English and translated here into the request's locale (kinfolk.i18n);
OAuth errors stay English, as their texts are part of RFC 6749's vocabulary.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.http import json_response
from kinfolk.api.locale import request_locale
from kinfolk.db.faults import Fault, classify
from kinfolk.i18n import DEFAULT_LOCALE, translate, translate_description
from kinfolk.kernel.errors import KinfolkError, OAuthError

log = logging.getLogger("kinfolk.api")

# Seconds a client is told to wait after a 503 for the database (a restart takes a few).
RETRY_AFTER_UNAVAILABLE = 5

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


async def fault_or_unexpected(request: Request, exc: Exception) -> Response:
    """Database, driver and OS errors: a fault (503, 507) is answered here, below Starlette's
    server-error layer, which would log it as a crash and re-raise it; anything else goes on
    to `unexpected_error` (500). A value out of range (PostgreSQL's class 22) is a 422 here too."""
    if classify(exc) is None and not is_input_out_of_range(exc):
        raise exc
    return error_response(request, exc)


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
    # api/request_log.py answers (and logs) errors first; this covers an app built without it.
    response = error_response(request, exc)
    if response.status_code == 500:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    return response


def error_response(request: Request, exc: Exception) -> Response:
    """The answer to an exception no handler took, whichever layer raised it: a fault of the
    machine (503, 507), a value out of range that only the request can have caused (422), or
    else Mastodon's 500."""
    fault = classify(exc)
    if fault is not None:
        return _fault_response(request, exc, fault)
    if is_input_out_of_range(exc):
        log.warning("input out of range on %s %s: %s", request.method, request.url.path, exc)
        message = "Validation failed: A value is out of range or not valid here"
        return json_response({"error": translate(message, request_locale(request))}, status_code=422)
    return internal_error_response(request)


def internal_error_response(request: Request) -> Response:
    return json_response(
        {"error": translate("Internal server error", request_locale(request))}, status_code=500
    )


def _fault_response(request: Request, exc: Exception, fault: Fault) -> Response:
    """A fault of the machine (database gone, disk full), not a bug: the client may retry later."""
    log.error("%s on %s %s: %s", fault, request.method, request.url.path, _describe(exc))
    locale = request_locale(request)
    if fault == "storage_full":
        return json_response({"error": translate("Insufficient storage", locale)}, status_code=507)
    return json_response(
        {"error": translate("Service unavailable", locale)},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
    )


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0][:300] if text else type(exc).__name__


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


def _fault_prone() -> tuple[type[Exception], ...]:
    """The exception classes a database or disk fault arrives as."""
    classes: list[type[Exception]] = [SQLAlchemyError, OSError, sqlite3.Error]
    try:
        import asyncpg
    except ImportError:  # pragma: no cover
        return tuple(classes)
    return (*classes, asyncpg.PostgresError, asyncpg.InterfaceError)


EXCEPTION_HANDLERS = {
    KinfolkError: kinfolk_error,
    HTTPException: http_error,
    **dict.fromkeys(_fault_prone(), fault_or_unexpected),
    Exception: unexpected_error,
}
