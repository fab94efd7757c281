"""The OAuth 2 flows: authorization requests and codes (RFC 6749 4.1, PKCE per RFC 7636) and the
token endpoint's grants (authorization_code, client_credentials, password, refresh_token).

Errors are RFC 6749's codes. An authorization request that names an unknown client or a
redirect URI that is not registered exactly is never redirected anywhere (`redirect=False`):
sending the browser to an unverified URI is how codes get stolen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import User
from kinfolk.domain.oauth import repo, service
from kinfolk.domain.oauth.models import Application, AuthorizationCode
from kinfolk.domain.oauth.scopes import is_subset, parse_scopes, unknown_scopes
from kinfolk.domain.oauth.service import OOB_REDIRECT, IssuedToken, SignInRefused
from kinfolk.infra.ratelimit import RateLimiter
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import OAuthError

CODE_TTL = timedelta(minutes=10)
DEFAULT_SCOPE = "read"
RESPONSE_MODES = ("query", "fragment", "form_post")
STATE_MAX = 2048
# RFC 7636 4.1: 43-128 unreserved characters; an S256 challenge is 43 base64url characters.
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client."
)
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed."


class AuthorizeError(Exception):
    """A refused authorization request; `redirect` says whether the client may be told via its URI."""

    def __init__(
        self, error: str, description: str, *, redirect: bool, request: AuthorizationRequest | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect
        self.request = request


@dataclass
class AuthorizationRequest:
    application: Application
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    response_mode: str
    force_login: bool

    @property
    def is_oob(self) -> bool:
        return self.redirect_uri == OOB_REDIRECT

    def hidden_fields(self) -> dict[str, str]:
        """The request as form fields, so the sign-in and consent forms can carry it to the POST."""
        fields = {
            "client_id": self.application.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
        }
        if self.state is not None:
            fields["state"] = self.state
        if self.code_challenge:
            fields["code_challenge"] = self.code_challenge
            fields["code_challenge_method"] = self.code_challenge_method or "S256"
        if self.response_mode != "query":
            fields["response_mode"] = self.response_mode
        return fields


def param(params: Mapping[str, Any], key: str) -> str | None:
    """One parameter as text: the first of a repeated one, None when absent."""
    value = params.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "on", "yes")


async def validate_authorization_request(
    session: AsyncSession, params: Mapping[str, Any]
) -> AuthorizationRequest:
    """Check a request to /oauth/authorize in RFC 6749's order: client and redirect URI first."""
    client_id = param(params, "client_id")
    app = await repo.get_app_by_client_id(session, client_id) if client_id else None
    if app is None:
        raise AuthorizeError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, "
            "or unsupported authentication method.",
            redirect=False,
        )
    redirect_uri = param(params, "redirect_uri")
    if not redirect_uri:
        raise AuthorizeError("invalid_request", "Missing required parameter: redirect_uri.", redirect=False)
    # Exact string comparison only: no prefixes, no normalisation.
    if redirect_uri not in app.redirect_uri_list:
        raise AuthorizeError(
            "invalid_redirect_uri", "The redirect URI included is not valid.", redirect=False
        )

    state = param(params, "state")
    mode = param(params, "response_mode") or "query"
    request = AuthorizationRequest(
        application=app,
        redirect_uri=redirect_uri,
        scopes=[],
        state=state[:STATE_MAX] if state is not None else None,
        code_challenge=None,
        code_challenge_method=None,
        response_mode=mode if mode in RESPONSE_MODES else "query",
        force_login=_truthy(param(params, "force_login")),
    )

    def refuse(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirect=True, request=request)

    if mode not in RESPONSE_MODES:
        raise refuse("invalid_request", "The response mode is not supported.")
    response_type = param(params, "response_type")
    if not response_type:
        raise refuse("invalid_request", "Missing required parameter: response_type.")
    if response_type != "code":
        raise refuse(
            "unsupported_response_type", "The authorization server does not support this response type."
        )

    scopes = parse_scopes(param(params, "scope") or None, default=DEFAULT_SCOPE)
    if unknown_scopes(scopes) or not is_subset(scopes, app.scope_list):
        raise refuse("invalid_scope", INVALID_SCOPE)
    request.scopes = scopes

    challenge = param(params, "code_challenge")
    method = param(params, "code_challenge_method")
    if challenge:
        # RFC 7636 makes a missing method mean "plain", which we do not accept.
        if (method or "plain") != "S256":
            raise refuse("invalid_request", "Only the S256 code challenge method is supported.")
        if not _PKCE_VALUE.match(challenge):
            raise refuse("invalid_request", "The code challenge is malformed.")
        request.code_challenge, request.code_challenge_method = challenge, "S256"
    elif method:
        raise refuse("invalid_request", "Missing required parameter: code_challenge.")
    return request


async def create_authorization_code(session: AsyncSession, request: AuthorizationRequest, user: User) -> str:
    """A single-use code, valid ten minutes, bound to everything the token request must repeat."""
    plain = ksecrets.new_token(32)
    now = utcnow()
    session.add(
        AuthorizationCode(
            code_digest=ksecrets.digest(plain),
            application_id=request.application.id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            scopes=" ".join(request.scopes),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    await session.flush()
    return plain


def redirect_target(request: AuthorizationRequest, values: Mapping[str, str]) -> str:
    """The client's redirect URI carrying `values` (code or error, plus state) in the query or fragment."""
    pairs = dict(values)
    if request.state is not None:
        pairs["state"] = request.state
    parts = urlsplit(request.redirect_uri)
    if request.response_mode == "fragment":
        return urlunsplit(parts._replace(fragment=urlencode(pairs)))
    query = parse_qsl(parts.query, keep_blank_values=True) + list(pairs.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- the token endpoint -------------------------------------------------------------------


@dataclass
class TokenOutcome:
    """A token, or an error to answer with *after* the transaction commits (code reuse revokes)."""

    issued: IssuedToken | None = None
    error: OAuthError | None = None


def _invalid_grant(description: str = INVALID_GRANT) -> OAuthError:
    return OAuthError("invalid_grant", description)


def _requested_scopes(params: Mapping[str, Any], allowed: list[str]) -> list[str]:
    scopes = parse_scopes(param(params, "scope") or None, default=DEFAULT_SCOPE)
    if unknown_scopes(scopes) or not is_subset(scopes, allowed):
        raise OAuthError("invalid_scope", INVALID_SCOPE)
    return scopes


async def grant_token(session: AsyncSession, client: Application, params: Mapping[str, Any]) -> TokenOutcome:
    """Every grant but `password`, which runs in two steps (see `check_password_grant`)."""
    grant_type = param(params, "grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "Missing required parameter: grant_type.")
    if grant_type == "authorization_code":
        return await _authorization_code(session, client, params)
    if grant_type == "client_credentials":
        scopes = _requested_scopes(params, client.scope_list)
        return TokenOutcome(await service.issue_token(session, application=client, user=None, scopes=scopes))
    if grant_type == "refresh_token":
        return await _refresh(session, client, params)
    if grant_type == "password":
        raise ValueError("the password grant runs through check_password_grant")
    raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported by the server.")


async def _authorization_code(
    session: AsyncSession, client: Application, params: Mapping[str, Any]
) -> TokenOutcome:
    plain = param(params, "code")
    if not plain:
        raise OAuthError("invalid_request", "Missing required parameter: code.")
    code = await repo.find_code(session, ksecrets.digest(plain))
    if code is None or code.application_id != client.id:
        raise _invalid_grant()
    if code.used:
        return TokenOutcome(error=await _replayed(session, code))
    if code.expires_at <= utcnow():
        raise _invalid_grant()
    redirect_uri = param(params, "redirect_uri")
    if not redirect_uri:
        raise OAuthError("invalid_request", "Missing required parameter: redirect_uri.")
    if redirect_uri != code.redirect_uri:
        raise _invalid_grant()
    _check_pkce(code, param(params, "code_verifier"))
    if not await repo.claim_code(session, code.id):
        return TokenOutcome(error=await _replayed(session, code))
    found = await repo.get_user_and_account(session, code.user_id)
    if found is None or service.sign_in_refusal(*found) is not None:
        raise _invalid_grant()
    issued = await service.issue_token(session, application=client, user=found[0], scopes=code.scopes.split())
    return TokenOutcome(issued)


async def _replayed(session: AsyncSession, code: AuthorizationCode) -> OAuthError:
    """RFC 6749 4.1.2: a code used twice may have been stolen, so what it bought is taken back.

    Tokens do not record the code they came from; every token of this app and user made since the
    code was issued is revoked (that includes the ones refreshed from it).
    """
    await repo.revoke_tokens_since(
        session, application_id=code.application_id, user_id=code.user_id, since=code.created_at, at=utcnow()
    )
    return _invalid_grant()


def _check_pkce(code: AuthorizationCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        # A verifier for a code issued without a challenge is a downgrade attempt (RFC 9700 2.1.1).
        if verifier:
            raise _invalid_grant("A code verifier was given, but the authorization request had no challenge.")
        return
    if not verifier or not _PKCE_VALUE.match(verifier):
        raise _invalid_grant("The code verifier is missing or malformed.")
    if not ksecrets.equal(create_s256_code_challenge(verifier), code.code_challenge):
        raise _invalid_grant("The code verifier does not match the code challenge.")


@dataclass
class PasswordCheck:
    client: Application
    user_id: int
    scopes: list[str]


async def check_password_grant(
    session: AsyncSession,
    client: Application,
    params: Mapping[str, Any],
    *,
    limiter: RateLimiter,
    client_ip: str,
) -> PasswordCheck:
    """The legacy password grant, first step: throttle, then verify the password.

    Run in a read-only unit of work: hashing takes tens of milliseconds, and on SQLite a write
    transaction would hold the database's single write lock all that time.
    """
    username = param(params, "username")
    password = param(params, "password")
    if not username or password is None:
        raise OAuthError("invalid_request", "Missing required parameter: username and password.")
    scopes = _requested_scopes(params, client.scope_list)
    await service.check_login_rate(limiter, client_ip, username)
    try:
        user, _account = await service.authenticate_user(session, username, password)
    except SignInRefused as refused:
        raise _invalid_grant(refused.message) from None
    return PasswordCheck(client=client, user_id=user.id, scopes=scopes)


async def complete_password_grant(session: AsyncSession, check: PasswordCheck) -> TokenOutcome:
    found = await repo.get_user_and_account(session, check.user_id)
    if found is None or service.sign_in_refusal(*found) is not None:
        raise _invalid_grant()
    await service.record_sign_in(session, check.user_id)
    return TokenOutcome(
        await service.issue_token(session, application=check.client, user=found[0], scopes=check.scopes)
    )


async def _refresh(session: AsyncSession, client: Application, params: Mapping[str, Any]) -> TokenOutcome:
    """Rotation: the old access and refresh tokens die, a new pair is born with the same (or fewer) scopes."""
    plain = param(params, "refresh_token")
    if not plain:
        raise OAuthError("invalid_request", "Missing required parameter: refresh_token.")
    old = await repo.find_token_by_refresh(session, ksecrets.digest(plain))
    if old is None or old.application_id != client.id or old.user_id is None or old.revoked_at is not None:
        raise _invalid_grant()
    scopes = old.scope_list
    if param(params, "scope"):
        scopes = _requested_scopes(params, old.scope_list)
    found = await repo.get_user_and_account(session, old.user_id)
    if found is None or service.sign_in_refusal(*found) is not None:
        raise _invalid_grant()
    if not await repo.revoke_token_row(session, old.id, utcnow()):
        raise _invalid_grant()
    issued = await service.issue_token(session, application=client, user=found[0], scopes=scopes)
    return TokenOutcome(issued)
