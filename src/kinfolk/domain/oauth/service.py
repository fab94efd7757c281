"""Applications, tokens and sign-in: creation, issuing, lookup, revocation.

Secrets leave here once, in plain text; the database keeps only digests of tokens and codes.
The protocol flows built on these (authorization codes and the token endpoint's grants) live
in `grants.py`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import rate_limits
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.accounts.service import verify_password
from kinfolk.domain.oauth import repo
from kinfolk.domain.oauth.models import AccessToken, Application
from kinfolk.domain.oauth.scopes import parse_scopes, unknown_scopes
from kinfolk.domain.timelines.streams import disconnect_token
from kinfolk.infra.ratelimit import RateLimiter
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import OAuthError, TooManyRequests, Unprocessable

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"

APP_NAME_MAX = 60
APP_URL_MAX = 2000
REDIRECT_URIS_MAX = 20

# Mastodon's Rack::Attack budgets for sign-in: per address, and per e-mail so that a botnet
# rotating addresses still cannot hammer one account.
LOGIN_LIMIT_PER_IP = rate_limits.LOGIN_PER_IP.pair
LOGIN_LIMIT_PER_EMAIL = rate_limits.LOGIN_PER_EMAIL.pair
APP_CREATE_LIMIT_PER_IP = rate_limits.APP_CREATE.pair

# Schemes a browser would execute or render instead of handing the code to an app.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

# A real hash to verify against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH: str | None = None


@dataclass
class IssuedToken:
    row: AccessToken
    access_token: str
    refresh_token: str | None


def validate_scopes(scopes: list[str]) -> None:
    bad = unknown_scopes(scopes)
    if bad:
        raise Unprocessable(
            f"Validation failed: Scopes are invalid: {' '.join(bad)}",
            details={"scopes": [{"error": "ERR_INVALID", "description": "is invalid"}]},
        )


def split_redirect_uris(value: str | Iterable[str] | None) -> list[str]:
    """Registered URIs arrive as one string (whitespace separated) or a list; keep order, drop repeats."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else [str(v) for v in value]
    seen: dict[str, None] = {}
    for item in items:
        for part in item.split():
            seen.setdefault(part, None)
    return list(seen)


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be registered, or None. Custom schemes (`tusky://`) are fine, as in Mastodon."""
    if uri == OOB_REDIRECT:
        return None
    if len(uri) > APP_URL_MAX:
        return f"is too long (maximum is {APP_URL_MAX} characters)"
    if not _SCHEME_RE.match(uri):
        return "must be an absolute URI"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "must be an absolute URI"
    scheme = parts.scheme.lower()
    if scheme in _FORBIDDEN_SCHEMES:
        return "must not use a forbidden scheme"
    if scheme in ("http", "https") and not parts.hostname:
        return "must be an absolute URI"
    if parts.fragment or "#" in uri:
        return "cannot contain a fragment"
    if any(ch.isspace() or ord(ch) < 0x20 for ch in uri):
        return "must be an absolute URI"
    return None


def _website_problem(website: str) -> str | None:
    if len(website) > APP_URL_MAX:
        return f"is too long (maximum is {APP_URL_MAX} characters)"
    try:
        parts = urlsplit(website)
    except ValueError:
        return "is invalid"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "is invalid"
    return None


async def create_application(
    session: AsyncSession,
    *,
    name: str,
    redirect_uris: list[str] | str | None = None,
    scopes: str | list[str] | None = None,
    website: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    owner_user_id: int | None = None,
) -> Application:
    """Validate and insert an application; every problem is one 422 naming its field, as Mastodon's."""
    errors: dict[str, list[dict[str, str]]] = {}
    messages: list[str] = []

    def fail(field: str, label: str, description: str, code: str = "ERR_INVALID") -> None:
        errors.setdefault(field, []).append({"error": code, "description": description})
        messages.append(f"{label} {description}")

    name = (name or "").strip()
    if not name:
        fail("name", "Application name", "can't be blank", "ERR_BLANK")
    elif len(name) > APP_NAME_MAX:
        fail(
            "name", "Application name", f"is too long (maximum is {APP_NAME_MAX} characters)", "ERR_TOO_LONG"
        )

    uris = split_redirect_uris(redirect_uris) if redirect_uris is not None else [OOB_REDIRECT]
    if not uris:
        fail("redirect_uri", "Redirect URI", "can't be blank", "ERR_BLANK")
    elif len(uris) > REDIRECT_URIS_MAX:
        fail("redirect_uri", "Redirect URI", f"has too many entries (maximum is {REDIRECT_URIS_MAX})")
    else:
        for uri in uris:
            problem = redirect_uri_problem(uri)
            if problem:
                fail("redirect_uri", "Redirect URI", problem)
                break

    scope_list = parse_scopes(scopes)
    bad = unknown_scopes(scope_list)
    if bad:
        fail("scopes", "Scopes", f"are invalid: {' '.join(bad)}")

    website = (website or "").strip() or None
    if website is not None:
        problem = _website_problem(website)
        if problem:
            fail("website", "Website", problem)

    if errors:
        raise Unprocessable("Validation failed: " + ", ".join(messages), details=errors)

    app = Application(
        name=name,
        website=website,
        redirect_uris="\n".join(uris),
        scopes=" ".join(scope_list),
        client_id=client_id or ksecrets.new_token(32),
        client_secret=client_secret or ksecrets.new_token(32),
        owner_user_id=owner_user_id,
    )
    session.add(app)
    await session.flush()
    return app


async def authenticate_client(
    session: AsyncSession, client_id: str | None, secret: str | None
) -> Application:
    """The application whose id and secret both match, else RFC 6749's 401 invalid_client."""
    app = await repo.get_app_by_client_id(session, client_id) if client_id else None
    if app is None or not secret or not ksecrets.equal(app.client_secret, secret):
        raise OAuthError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, "
            "or unsupported authentication method.",
            401,
        )
    return app


async def issue_token(
    session: AsyncSession,
    *,
    application: Application | None,
    user: User | None,
    scopes: list[str],
    with_refresh: bool = True,
    token_value: str | None = None,
) -> IssuedToken:
    access = token_value or ksecrets.new_token(32)
    refresh = ksecrets.new_token(32) if with_refresh and user is not None else None
    row = AccessToken(
        token_digest=ksecrets.digest(access),
        refresh_token_digest=ksecrets.digest(refresh) if refresh else None,
        application_id=application.id if application else None,
        user_id=user.id if user else None,
        scopes=" ".join(scopes),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return IssuedToken(row=row, access_token=access, refresh_token=refresh)


@dataclass
class TokenOwner:
    token: AccessToken
    application: Application | None
    user: User | None
    account: Account | None


async def lookup_token(session: AsyncSession, plain: str) -> TokenOwner | None:
    """A usable token: not revoked, not expired, and its user (if any) allowed to log in
    (`repo.usable_token` states the rules, for the home page's fast path too)."""
    found = await repo.find_token(session, ksecrets.digest(plain), utcnow())
    if found is None:
        return None
    token, app, user, account = found
    return TokenOwner(token, app, user, account)


async def revoke(uow: UnitOfWork, token: AccessToken) -> None:
    """Revoke a token; streams opened with it close once this commits."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await uow.session.flush()
        disconnect_token(uow, token.id)


async def revoke_for_client(uow: UnitOfWork, client: Application, plain: str) -> None:
    """RFC 7009: an unknown token is not an error; another client's token is (403, as Mastodon)."""
    session = uow.session
    digest = ksecrets.digest(plain)
    token = await repo.find_access_token(session, digest) or await repo.find_token_by_refresh(session, digest)
    if token is None:
        return
    if token.application_id != client.id:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    await revoke(uow, token)


# --- signing in ---------------------------------------------------------------------------


class SignInRefused(Exception):
    """Why a person could not sign in; `reason` is one of invalid, pending, disabled, suspended."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


INVALID_CREDENTIALS = "Invalid email address or password."


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        from kinfolk.domain.accounts.service import hash_password

        _DUMMY_HASH = hash_password(ksecrets.new_token(16))
    return _DUMMY_HASH


async def authenticate_user(session: AsyncSession, email: str, password: str) -> tuple[User, Account]:
    """The user behind an e-mail and password, if they may sign in; the hash is checked off the loop."""
    found = await repo.get_user_and_account_by_email(session, email) if email else None
    password_hash = found[0].password_hash if found else await asyncio.to_thread(_dummy_hash)
    ok = await asyncio.to_thread(verify_password, password_hash, password or "")
    if found is None or not ok:
        raise SignInRefused("invalid", INVALID_CREDENTIALS)
    user, account = found
    refusal = sign_in_refusal(user, account)
    if refusal is not None:
        raise refusal
    return user, account


def sign_in_refusal(user: User, account: Account) -> SignInRefused | None:
    """Right password, but the account may not be used: said plainly, since the person proved who they are."""
    if account.suspended_at is not None:
        return SignInRefused("suspended", "Your account has been suspended.")
    if user.disabled:
        return SignInRefused("disabled", "Your account has been disabled by the server's staff.")
    if not user.approved:
        return SignInRefused(
            "pending",
            "Your account is waiting for approval by the server's staff; you can sign in once approved.",
        )
    return None


async def record_sign_in(session: AsyncSession, user_id: int) -> None:
    await repo.touch_sign_in(session, user_id, utcnow())


def login_rate_keys(client_ip: str, email: str) -> tuple[str, str]:
    return f"login:ip:{client_ip}", f"login:email:{email.strip().lower()}"


async def check_login_rate(limiter: RateLimiter, client_ip: str, email: str) -> None:
    """Count one sign-in attempt by address and by e-mail before any password hashing is done."""
    ip_key, email_key = login_rate_keys(client_ip, email)
    ip_ok = await limiter.hit(ip_key, *LOGIN_LIMIT_PER_IP)
    email_ok = await limiter.hit(email_key, *LOGIN_LIMIT_PER_EMAIL) if email.strip() else True
    if not (ip_ok and email_ok):
        raise TooManyRequests("Too many sign-in attempts, try again later")


async def check_app_creation_rate(limiter: RateLimiter, client_ip: str) -> None:
    if not await limiter.hit(f"apps:create:{client_ip}", *APP_CREATE_LIMIT_PER_IP):
        raise TooManyRequests("Too many requests")


async def session_user(session: AsyncSession, user_id: int) -> tuple[User, Account] | None:
    """The signed-in web user, if the account can still be used."""
    found = await repo.get_user_and_account(session, user_id)
    if found is None or sign_in_refusal(*found) is not None:
        return None
    return found
