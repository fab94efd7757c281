"""Signing up through the API (`POST /api/v1/accounts`), as Mastodon's app sign-up does.

An application registers a person and receives a token for them at once. Whether the account
can be used straight away depends on the server's registration mode: `open` approves it,
`approval` keeps it waiting for staff (the token works only after approval), `closed` refuses.

Kept apart from `service.py` because it issues OAuth tokens, and the OAuth service already
depends on the accounts service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain import rate_limits
from kinfolk.domain.accounts.models import User
from kinfolk.domain.accounts.service import (
    NewAccount,
    create_local_account,
    validate_new_account,
    validation_failed,
)
from kinfolk.domain.oauth.models import Application
from kinfolk.domain.oauth.service import IssuedToken, issue_token
from kinfolk.infra.ratelimit import Hit, RateLimiter
from kinfolk.kernel.errors import Forbidden, TooManyRequests
from kinfolk.kernel.uris import Uris

# Mastodon's Rack::Attack budget for sign-ups: 5 per 30 minutes from one address.
SIGNUP_LIMIT = rate_limits.SIGN_UP.pair
REASON_MAX = 1000
_LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")

RegistrationMode = Literal["open", "approval", "closed"]


@dataclass
class Registration:
    username: str
    email: str
    password: str
    agreement: bool
    locale: str | None = None
    reason: str = ""
    ip: str | None = None


async def count_signup(limiter: RateLimiter, client_ip: str) -> Hit:
    """Counted on every attempt, valid or not, before any work is done."""
    return await limiter.take(f"signup:ip:{client_ip}", *SIGNUP_LIMIT)


async def check_signup_rate(limiter: RateLimiter, client_ip: str) -> None:
    if not (await count_signup(limiter, client_ip)).allowed:
        raise TooManyRequests("Too many requests")


async def register(
    session: AsyncSession,
    registration: Registration,
    *,
    mode: RegistrationMode,
    application: Application | None,
    scopes: list[str],
    uris: Uris,
) -> IssuedToken:
    """Create the account and a token for it with the calling app's scopes; 422 names every problem."""
    if mode == "closed":
        raise Forbidden("Registrations are closed on this server")
    locale = (registration.locale or "en").strip() or "en"
    new = NewAccount(
        username=registration.username,
        email=registration.email,
        password=registration.password,
        approved=mode == "open",
        locale=locale.replace("_", "-"),
        reason=registration.reason.strip(),
        sign_up_ip=registration.ip,
    )
    errors = await validate_new_account(session, new)
    if not registration.agreement:
        errors.setdefault("agreement", []).append(
            {"error": "ERR_ACCEPTED", "description": "must be accepted"}
        )
    if not _LOCALE_RE.match(locale) or len(locale) > 16:
        errors.setdefault("locale", []).append(
            {"error": "ERR_INCLUSION", "description": "is not included in the list"}
        )
    if len(new.reason) > REASON_MAX:
        errors.setdefault("reason", []).append(
            {"error": "ERR_TOO_LONG", "description": f"is too long (maximum is {REASON_MAX} characters)"}
        )
    if errors:
        raise validation_failed(errors)
    try:
        _, user = await create_local_account(session, new, uris=uris)
    except IntegrityError as exc:  # a concurrent sign-up took the name or address first
        raise validation_failed(
            {"username": [{"error": "ERR_TAKEN", "description": "or e-mail is already taken"}]}
        ) from exc
    return await issue_token(session, application=application, user=user, scopes=scopes, with_refresh=False)


def resend_confirmation_for(user: User | None, *, new_email: bool) -> None:
    """May `user` ask for the confirmation e-mail again (POST /api/v1/emails/confirmations)?

    Kinfolk confirms addresses at sign-up and sends no mail, so there is never a confirmation
    to resend: asking succeeds with nothing to do. Changing the address this way is refused,
    as Mastodon refuses it once an address is confirmed.
    """
    if user is None:
        raise Forbidden("This method is only available to the application the user originally signed-up with")
    if new_email or user.confirmed_at is None:
        raise Forbidden("This method is only available while the e-mail is awaiting confirmation")
