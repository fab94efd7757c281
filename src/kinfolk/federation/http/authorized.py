"""Secure mode (Mastodon's AUTHORIZED_FETCH): who signed an ActivityPub GET, and whether it may read.

With `settings.authorized_fetch` on, the JSON of actors, statuses and collections is served only
to a request signed (draft-cavage: `(request-target)`, `host` and `date` at least; or RFC 9421:
`@method`, `@target-uri`, `created`) by a key we
can fetch, of a server that is not suspended. The signing account is then the viewer: the one
visibility policy decides, so a followers-only status reaches a fetch signed by a follower and
no one else (Mastodon's `StatusPolicy#show?`, simple version: the signer itself must follow).

What stays open, as in Mastodon, so that others can verify us and people can read us:
the instance actor `/actor`, HTML pages, WebFinger and NodeInfo; and an unsigned fetch of a
user actor gets its technical fields only (`MINIMAL_ACTOR_FIELDS`), enough to check a signature.

Answers in secure mode are `Cache-Control: private` with `Vary: Accept, Signature`: what one
server may read is not what another may, so no shared cache may keep it.
With the setting off (the default) nothing here runs and every GET is as before.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation.http.inbox import (
    Refused,
    checked_signature,
    domain_suspended,
    key_domain,
    request_target,
    verified_signer,
)
from kinfolk.federation.signatures import SignatureError
from kinfolk.kernel.errors import Forbidden, KinfolkError, TooManyRequests, Unauthorized

PRIVATE_CACHE = "private, max-age=180"
SECURE_VARY = "Accept, Signature"
# What Mastodon leaves readable in an unsigned fetch of an actor in secure mode.
MINIMAL_ACTOR_FIELDS = frozenset(
    {
        "@context",
        "id",
        "type",
        "preferredUsername",
        "inbox",
        "outbox",
        "publicKey",
        "assertionMethod",
        "endpoints",
    }
)


class SignatureRequired(Unauthorized):
    default_message = "Request not signed"


def secure_mode(container: Container) -> bool:
    return bool(container.settings.authorized_fetch)


def is_signed(request: Request) -> bool:
    return (
        "signature" in request.headers
        or "signature-input" in request.headers
        or request.headers.get("authorization", "").lower().startswith("signature ")
    )


def _refusal(status: int, reason: str) -> KinfolkError:
    if status == 429:
        return TooManyRequests(reason)  # the key-fetch budget (answered with Retry-After)
    return Forbidden(reason) if status == 403 else Unauthorized(reason)


async def signing_account(request: Request, container: Container) -> Account:
    """The verified remote account that signed this GET. Raises `Unauthorized` (401) for a
    missing or bad signature and `Forbidden` (403) for a suspended domain or account; the
    domain is checked before any key is fetched."""
    if not is_signed(request):
        raise SignatureRequired()
    target = request_target(request)
    try:
        signature = checked_signature(container, request, request.method, target, None)
        if await domain_suspended(container, key_domain(signature.key_id)):
            raise Forbidden("Domain is blocked")
        signer, _ = await verified_signer(container, request, signature)
    except SignatureError as exc:
        raise _refusal(exc.status, exc.reason) from exc
    except Refused as exc:
        raise _refusal(exc.status, exc.reason) from exc
    async with container.db.uow(write=False) as uow:
        account = await uow.session.get(Account, signer.account_id)
    if account is None:
        raise Unauthorized("Unable to fetch key: its actor is gone")
    if account.suspended_at is not None:
        raise Forbidden("Actor is suspended")
    return account


async def requester(request: Request, container: Container) -> Account | None:
    """The viewer of an ActivityPub GET: None (anonymous) outside secure mode; in secure mode
    the signing account, or a refusal (401/403)."""
    if not secure_mode(container):
        return None
    return await signing_account(request, container)


def minimal_actor(document: dict[str, Any]) -> dict[str, Any]:
    """An actor document cut to what verifying its signatures needs (Mastodon's barebones actor)."""
    return {key: value for key, value in document.items() if key in MINIMAL_ACTOR_FIELDS}
