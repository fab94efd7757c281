"""Who is calling: the bearer token, its scopes, and the checks routes ask for.

Mastodon's answers: no or bad token 401, a scope the token lacks 403, an app-only token on a
user endpoint 422.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from kinfolk.api.locale import remember_user_locale
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.oauth.models import AccessToken, Application
from kinfolk.domain.oauth.scopes import covers
from kinfolk.domain.oauth.service import lookup_token
from kinfolk.kernel.errors import Forbidden, Unauthorized, Unprocessable


@dataclass
class Viewer:
    token: AccessToken
    application: Application | None
    user: User | None
    account: Account | None

    @property
    def scopes(self) -> list[str]:
        return self.token.scope_list

    def has_scope(self, scope: str) -> bool:
        return covers(self.scopes, scope)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        value = header[7:].strip()
        return value or None
    return None


async def current_viewer(request: Request, uow: UnitOfWork) -> Viewer | None:
    """The caller, or None without a token; an invalid token is a 401 either way."""
    # Cached per unit of work: rows loaded in one session must not leak into another.
    cached = request.scope.get("kinfolk.viewer")
    if cached is not None and cached[0] is uow:
        viewer: Viewer = cached[1]
        return viewer
    plain = bearer_token(request)
    if plain is None:
        return None
    owner = await lookup_token(uow.session, plain)
    if owner is None:
        raise Unauthorized("The access token is invalid")
    found = Viewer(owner.token, owner.application, owner.user, owner.account)
    request.scope["kinfolk.viewer"] = (uow, found)
    if owner.account is not None:
        request.scope["kinfolk.account_id"] = owner.account.id  # for the access log
    remember_user_locale(request.scope, owner.user.locale if owner.user else None)
    return found


async def authorize_if_token(request: Request, uow: UnitOfWork, *scopes: str) -> Viewer | None:
    """Mastodon's `authorize_if_got_token!`, for reads that are public: no token passes (None), a
    bad token is a 401, and a token holding none of `scopes` is a 403 even though no token would
    have done, so that a token limited to, say, `write` never reads more than it was granted."""
    viewer = await current_viewer(request, uow)
    if viewer is not None and scopes and not any(viewer.has_scope(s) for s in scopes):
        raise Forbidden("This action is outside the authorized scopes")
    return viewer


def viewer_account_id(viewer: Viewer | None) -> int | None:
    """The signed-in account behind `viewer`, if any (an app-only token has none)."""
    return viewer.account.id if viewer is not None and viewer.account is not None else None


async def require(
    request: Request,
    uow: UnitOfWork,
    *scopes: str,
    user: bool = True,
) -> Viewer:
    """A token with any of `scopes` (all of them hierarchical), belonging to a user unless `user=False`."""
    viewer = await current_viewer(request, uow)
    if viewer is None:
        raise Unauthorized("The access token is invalid")
    if scopes and not any(viewer.has_scope(s) for s in scopes):
        raise Forbidden("This action is outside the authorized scopes")
    if user and viewer.account is None:
        raise Unprocessable("This method requires an authenticated user")
    return viewer


async def require_user(request: Request, uow: UnitOfWork, *scopes: str) -> tuple[Viewer, Account, User]:
    viewer = await require(request, uow, *scopes, user=True)
    assert viewer.account is not None and viewer.user is not None
    return viewer, viewer.account, viewer.user
