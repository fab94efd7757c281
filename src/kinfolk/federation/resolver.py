"""The search's `RemoteResolver`: remote accounts and posts looked up, fetched and stored.

It runs before the search opens its unit of work (`domain/search/resolver.py`), through the
same dereferencing as the inbox (`federation/dereference.py`: signed fetches, origin checks,
the one status store), and answers ids only. Every lookup is bounded in time; a server that is
slow, down or refuses answers as nothing found, never as an error. Handle lookups are budgeted
per site (`SiteBudget`), so invented subdomains of one domain cost a bounded number of requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from kinfolk.domain.accounts import repo as accounts_repo
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.search.resolver import RESOLVER_KEY, Resolved
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.federation import dereference
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.object import parse_note
from kinfolk.federation.parse.shape import Shape, shape_of
from kinfolk.federation.parse.values import ParseError, https_url, same_origin
from kinfolk.infra.fetch import FetchError
from kinfolk.kernel.hosts import bare_host, site_of

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.federation")

# The most one search may wait on other servers (WebFinger, the actor, a post and its parents).
RESOLVE_TIMEOUT = 15.0
# Handle lookups that reach the network, per site (`kernel/hosts.site_of`) and minute: distinct
# hosts (one wildcard DNS entry names any number of them), and lookups whatever their host.
SITE_HOSTS_PER_MINUTE = 10
SITE_LOOKUPS_PER_MINUTE = 120
# Sites remembered at once; the oldest window is forgotten past this (memory stays bounded).
MAX_SITES = 10_000


@dataclass(slots=True)
class _Window:
    ends: float
    hosts: set[str] = field(default_factory=set)
    lookups: int = 0


class SiteBudget:
    """In this process, how many handle lookups each site may still cause this minute.

    Mentions of `@x@<random>.evil.example`, in posts or searches, would otherwise make one
    WebFinger request (and an actor fetch) per invented host name: past
    `SITE_HOSTS_PER_MINUTE` hosts of one site, or `SITE_LOOKUPS_PER_MINUTE` lookups, a lookup
    finds nothing (what we hold already is still used) until the site's minute is over."""

    def __init__(
        self,
        hosts: int = SITE_HOSTS_PER_MINUTE,
        lookups: int = SITE_LOOKUPS_PER_MINUTE,
        period: float = 60.0,
        max_sites: int = MAX_SITES,
    ) -> None:
        self.hosts, self.lookups, self.period, self.max_sites = hosts, lookups, period, max_sites
        self._sites: dict[str, _Window] = {}

    def take(self, domain: str) -> bool:
        """Count one lookup on `domain` (a host, with its port when not the default); False,
        counting nothing, when its site has no budget left."""
        now = time.monotonic()
        host, site = bare_host(domain), site_of(domain)
        window = self._sites.get(site)
        if window is None or now >= window.ends:
            self._sites.pop(site, None)
            window = self._sites[site] = _Window(ends=now + self.period)
            while len(self._sites) > self.max_sites:
                del self._sites[next(iter(self._sites))]
        if window.lookups >= self.lookups or (host not in window.hosts and len(window.hosts) >= self.hosts):
            return False
        window.hosts.add(host)
        window.lookups += 1
        return True


class FederationResolver:
    def __init__(self, container: Container, timeout: float = RESOLVE_TIMEOUT) -> None:
        self.container = container
        self.timeout = timeout
        self.sites = SiteBudget()

    async def resolve_handle(self, username: str, domain: str) -> int | None:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._handle(username, domain.strip().lower())
        except (TimeoutError, FetchError, ParseError) as exc:
            log.info("resolving %s@%s failed: %r", username, domain, exc)
        except Exception:
            # Whatever else goes wrong, a lookup finds nothing rather than failing the request
            # (a search, a post); the traceback is kept for us.
            log.warning("resolving %s@%s failed", username, domain, exc_info=True)
        return None

    async def resolve_url(self, url: str) -> Resolved | None:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._url(url)
        except (TimeoutError, FetchError, ParseError) as exc:
            log.info("resolving %s failed: %r", url, exc)
        except Exception:
            log.warning("resolving %s failed", url, exc_info=True)
        return None

    async def _handle(self, username: str, domain: str) -> int | None:
        """A known account fetched within the day answers without any request (as Mastodon);
        otherwise WebFinger and the actor. What we hold is kept when the server fails."""
        async with self.container.db.uow(write=False) as uow:
            stored = await accounts_repo.get_by_username(uow.session, username, domain)
        if stored is not None and stored.domain is not None and dereference.fresh(stored):
            return stored.id
        held = stored.id if stored is not None and stored.domain is not None else None
        if not self.sites.take(domain):
            log.info("resolving %s@%s skipped: too many lookups on its site", username, domain)
            return held
        found = await dereference.webfinger_lookup(self.container, username, domain)
        if found is None:
            return held
        # The domain asked answers for its own handles: when the actor lives elsewhere, the
        # check of its handle need not ask this domain again (the actor's host must agree).
        subject = dereference.split_acct(found.subject)
        confirmed = (
            {f"{subject[0]}@{domain}".lower(): found.actor_url} if subject and subject[1] == domain else {}
        )
        account = await dereference.fetch_actor(
            self.container, found.actor_url, refresh=held is not None, confirmed=confirmed
        )
        return account.id if account is not None and account.domain is not None else held

    async def _url(self, url: str) -> Resolved | None:
        clean = https_url(url)
        if clean is None:
            return None
        known, gone = await self._known(clean)
        if known is not None or gone:
            return known
        return await self._fetch(clean)

    async def _known(self, url: str) -> tuple[Resolved | None, bool]:
        """(A post or actor already stored under this id, whether a post by this id was deleted
        here): either way no fetch at all. By id only: page URLs have no index; the one fetch
        tells their id, and what is stored under it is used."""
        async with self.container.db.uow(write=False) as uow:
            session = uow.session
            row = (
                await session.execute(select(Status.id, Status.deleted_at).where(Status.uri == url))
            ).one_or_none()
            if row is not None:
                return (None, True) if row.deleted_at is not None else (("status", row.id), False)
            if await session.get(Tombstone, url) is not None:
                return None, True
            account_id = (
                await session.execute(
                    select(Account.id).where(Account.uri == url, Account.domain.is_not(None))
                )
            ).scalar_one_or_none()
            return (("account", account_id) if account_id is not None else None), False

    async def _fetch(self, url: str) -> Resolved | None:
        """One signed GET; the document's shape says whether it is a post or an actor, and it
        is stored as fetched (no second GET of the same object)."""
        document = await dereference.get_document(self.container, url)
        shape = shape_of(document)
        if shape is Shape.NOTE:
            note = parse_note(document)
            if note.id != url:
                # Fetched by its page URL: the id it gives (same origin, checked) may be known.
                known, gone = await self._known(note.id)
                if known is not None or gone:
                    return known if known is not None and known[0] == "status" else None
            status = await dereference.store_fetched_note(self.container, note)
            return ("status", status.id) if status is not None else None
        if shape is Shape.ACTOR:
            actor = parse_actor(document)
            if not same_origin(actor.id, url):
                return None
            known, _ = await self._known(actor.id) if actor.id != url else (None, False)
            if known is not None:
                return known if known[0] == "account" else None
            account = await dereference.store_actor(self.container, actor, counts=True, check_handle=True)
            return ("account", account.id) if account is not None else None
        return None


def install(container: Container) -> None:
    """Make remote lookups in searches go through federation (the default finds nothing)."""
    container.extras[RESOLVER_KEY] = FederationResolver(container)
