"""The search's `RemoteResolver`: remote accounts and posts looked up, fetched and stored.

It runs before the search opens its unit of work (`domain/search/resolver.py`), through the
same dereferencing as the inbox (`federation/dereference.py`: signed fetches, origin checks,
the one status store), and answers ids only. Every lookup is bounded in time; a server that is
slow, down or refuses answers as nothing found, never as an error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.search.resolver import RESOLVER_KEY, Resolved
from kinfolk.domain.statuses.models import Status
from kinfolk.federation import dereference
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.object import parse_note
from kinfolk.federation.parse.shape import Shape, shape_of
from kinfolk.federation.parse.values import ParseError, https_url, same_origin
from kinfolk.infra.fetch import FetchError

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.federation")

# The most one search may wait on other servers (WebFinger, the actor, a post and its parents).
RESOLVE_TIMEOUT = 15.0


class FederationResolver:
    def __init__(self, container: Container, timeout: float = RESOLVE_TIMEOUT) -> None:
        self.container = container
        self.timeout = timeout

    async def resolve_handle(self, username: str, domain: str) -> int | None:
        try:
            async with asyncio.timeout(self.timeout):
                uri = await dereference.webfinger(self.container, username, domain)
                if uri is None:
                    return None
                account = await dereference.fetch_actor(self.container, uri)
        except TimeoutError:
            log.info("resolving %s@%s timed out", username, domain)
            return None
        return account.id if account is not None else None

    async def resolve_url(self, url: str) -> Resolved | None:
        clean = https_url(url)
        if clean is None:
            return None
        known = await self._known(clean)
        if known is not None:
            return known
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(clean)
        except TimeoutError:
            log.info("resolving %s timed out", clean)
            return None

    async def _known(self, url: str) -> Resolved | None:
        """A post or actor already stored under this id or page URL: no fetch at all."""
        async with self.container.db.uow(write=False) as uow:
            session = uow.session
            status_id = (
                await session.execute(
                    select(Status.id).where(
                        or_(Status.uri == url, Status.url == url), Status.deleted_at.is_(None)
                    )
                )
            ).scalar()
            if status_id is not None:
                return ("status", status_id)
            account_id = (
                await session.execute(select(Account.id).where(or_(Account.uri == url, Account.url == url)))
            ).scalar()
            return ("account", account_id) if account_id is not None else None

    async def _fetch(self, url: str) -> Resolved | None:
        """One signed GET; the document's shape says whether it is a post or an actor."""
        try:
            document = await dereference.get_document(self.container, url)
        except FetchError as exc:
            log.info("resolving %s failed: %s", url, exc)
            return None
        try:
            shape = shape_of(document)
            if shape is Shape.NOTE:
                parsed_note = parse_note(document)
                status = await dereference.fetch_note(self.container, parsed_note.id)
                return ("status", status.id) if status is not None else None
            if shape is Shape.ACTOR:
                parsed_actor = parse_actor(document)
                if not same_origin(parsed_actor.id, url):
                    return None
                account = await dereference.fetch_actor(self.container, parsed_actor.id)
                return ("account", account.id) if account is not None else None
        except ParseError as exc:
            log.info("resolving %s: unusable document: %s", url, exc)
        return None


def install(container: Container) -> None:
    """Make remote lookups in searches go through federation (the default finds nothing)."""
    container.extras[RESOLVER_KEY] = FederationResolver(container)
