"""Errors that carry Mastodon's status code and message; the API layer renders them as JSON."""

from __future__ import annotations

from typing import Any


class KinfolkError(Exception):
    status_code = 500
    default_message = "Internal server error"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class BadRequest(KinfolkError):
    status_code = 400
    default_message = "Bad request"


class Unauthorized(KinfolkError):
    status_code = 401
    default_message = "The access token is invalid"


class Forbidden(KinfolkError):
    status_code = 403
    default_message = "This action is not allowed"


class NotFound(KinfolkError):
    status_code = 404
    default_message = "Record not found"


class Gone(KinfolkError):
    status_code = 410
    default_message = "Gone"


class PayloadTooLarge(KinfolkError):
    status_code = 413
    default_message = "Request entity too large"


class Unprocessable(KinfolkError):
    """Validation failed; `details` maps each field to its problems, as Mastodon does."""

    status_code = 422
    default_message = "Validation failed"


class TooManyRequests(KinfolkError):
    status_code = 429
    default_message = "Too many requests"


class ServiceUnavailable(KinfolkError):
    status_code = 503
    default_message = "Service unavailable"


class OAuthError(KinfolkError):
    """An RFC 6749 error: `error` is the code, `error_description` the human text."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        self.error = error
        self.status_code = status_code
        super().__init__(description)
