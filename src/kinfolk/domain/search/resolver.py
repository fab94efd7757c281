"""Turning a URL or `user@host` handle in a search into an account or status.

Local addresses (our own profile and status URLs) resolve here and now. Anything remote goes
to a `RemoteResolver`, the hook federation implements (WebFinger, fetching the object); until it
is installed in the container's extras under `RESOLVER_KEY`, remote lookups find nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.search import repo
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.visibility import can_see
from kinfolk.kernel.uris import Uris

RESOLVER_KEY = "search.remote_resolver"

_HANDLE = re.compile(r"^@?(?P<username>[\w.-]+)@(?P<domain>[\w.-]+\w(?::\d+)?)$")


Resolved = tuple[Literal["account", "status"], int]


class RemoteResolver(Protocol):
    """Looks up objects on other servers (federation provides the implementation).

    It is called before any unit of work opens (a slow server must never hold a transaction),
    stores what it found through its own short writes, and answers only ids: the caller loads
    them in its own unit of work and applies the visibility rules there."""

    async def resolve_url(self, url: str) -> Resolved | None: ...

    async def resolve_handle(self, username: str, domain: str) -> int | None: ...


class NoRemoteResolver:
    """The default until federation is wired in: nothing remote is ever found."""

    async def resolve_url(self, url: str) -> Resolved | None:
        return None

    async def resolve_handle(self, username: str, domain: str) -> int | None:
        return None


def remote_resolver(extras: Mapping[str, Any]) -> RemoteResolver:
    found = extras.get(RESOLVER_KEY)
    return found if found is not None else NoRemoteResolver()


def parse_handle(query: str) -> tuple[str, str] | None:
    match = _HANDLE.match(query.strip())
    if not match:
        return None
    return match.group("username"), match.group("domain").lower()


def local_hosts(domain: str) -> set[str]:
    host = domain.lower()
    return {host, host.split(":", 1)[0]}


async def resolve_local_url(
    session: AsyncSession, url: str, uris: Uris, viewer_id: int
) -> Account | Status | None:
    """One of our own profile or status URLs, if the viewer may see it; None otherwise."""
    named = uris.parse_status(url)
    if named is not None:
        username, status_id = named
        status = await repo.get_status(session, status_id)
        author = await repo.local_account(session, username)
        if (
            status is None
            or author is None
            or status.account_id != author.id
            or status.reblog_of_id is not None
            or not await can_see(session, status, viewer_id)
        ):
            return None
        return status
    actor = uris.parse_actor(url)
    return await repo.local_account(session, actor) if actor is not None else None


async def load_resolved(session: AsyncSession, resolved: Resolved, viewer_id: int) -> Account | Status | None:
    """What a resolver found, loaded in the caller's unit of work and shown only as the viewer
    may see it: an account that exists for the outside, a status not deleted and visible to them."""
    kind, object_id = resolved
    if kind == "account":
        return await repo.existing_account(session, object_id)
    status = await session.get(Status, object_id)
    if status is None or status.deleted_at is not None or not await can_see(session, status, viewer_id):
        return None
    return status
