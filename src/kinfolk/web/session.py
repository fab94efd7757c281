"""The browser session: a signed cookie (itsdangerous) holding the signed-in user and a CSRF token.

Nothing secret is inside, only ids, so signing is enough. The cookie also carries a keyed
fingerprint of the password hash: changing the password ends every other session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.config import Settings
from kinfolk.domain.accounts.models import User

COOKIE_NAME = "kinfolk_session"
MAX_AGE = 14 * 24 * 3600
_SALT = "kinfolk.web.session"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.ensure_secret_key(), salt=_SALT)


@dataclass
class WebSession:
    data: dict[str, Any] = field(default_factory=dict)
    changed: bool = False

    @property
    def csrf_token(self) -> str:
        token = self.data.get("csrf")
        if not isinstance(token, str) or not token:
            token = secrets.token_urlsafe(32)
            self.data["csrf"] = token
            self.changed = True
        return token

    def csrf_ok(self, submitted: Any) -> bool:
        token = self.data.get("csrf")
        if not isinstance(token, str) or not token or not isinstance(submitted, str):
            return False
        return hmac.compare_digest(token.encode(), submitted.encode())

    @property
    def user_id(self) -> int | None:
        value = self.data.get("uid")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    def sign_in(self, user: User, secret: str) -> None:
        """A fresh CSRF token with every sign-in, so a token planted before sign-in is worthless."""
        self.data = {
            "uid": str(user.id),
            "pwf": password_fingerprint(user, secret),
            "csrf": secrets.token_urlsafe(32),
        }
        self.changed = True

    def sign_out(self) -> None:
        self.data = {"csrf": secrets.token_urlsafe(32)}
        self.changed = True

    def still_valid_for(self, user: User, secret: str) -> bool:
        fingerprint = self.data.get("pwf")
        return isinstance(fingerprint, str) and hmac.compare_digest(
            fingerprint.encode(), password_fingerprint(user, secret).encode()
        )


def password_fingerprint(user: User, secret: str) -> str:
    return hmac.new(secret.encode(), user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def load_session(request: Request, settings: Settings) -> WebSession:
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return WebSession()
    try:
        data = _serializer(settings).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return WebSession(changed=True)
    return WebSession(data=data if isinstance(data, dict) else {})


def save_session(response: Response, session: WebSession, settings: Settings) -> None:
    if not session.changed:
        return
    response.set_cookie(
        COOKIE_NAME,
        _serializer(settings).dumps(session.data),
        max_age=MAX_AGE,
        path="/",
        secure=settings.protocol == "https",
        httponly=True,
        samesite="lax",
    )
