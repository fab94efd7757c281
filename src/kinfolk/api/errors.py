"""Every error leaves as Mastodon's JSON: `{"error": ...}`, with `error_description` for OAuth."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.http import json_response
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
    body: dict[str, object] = {"error": exc.message}
    if exc.details:
        body["details"] = exc.details
    headers = {"Retry-After": "60"} if exc.status_code == 429 else None
    return json_response(body, status_code=exc.status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code) or exc.detail or "Error"
    return json_response({"error": message}, status_code=exc.status_code, headers=dict(exc.headers) if exc.headers else None)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_response({"error": "Internal server error"}, status_code=500)


EXCEPTION_HANDLERS = {
    KinfolkError: kinfolk_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
