"""Domain blocks: the rules an instance sets for whole servers, and the policy the edges ask.

Federation's edges (the inbox, the fetcher, delivery, remote media) ask `policy_for(domain)`
before doing anything with a server; the answer covers the domain and all its subdomains, the
most specific block winning, as Mastodon's `DomainBlock.rule_for`. Domains are compared only in
one normal form (IDNA, lower case, no trailing dot), so `EXAMPLE.com.` or a Unicode spelling
cannot slip past a block (security checklist C.43).

A block also marks the server's known accounts, as Mastodon does: `suspend` suspends them and
`silence` silences them, so every listing that already honours `suspended_at`/`silenced_at`
applies it. The marks carry the block's own time, and lifting the block clears only those.

The inbox asks for a policy on every activity it receives, so `PolicyCache` keeps the answers
in process: a block or unblock made in this process is seen by the next question (a change
bumps a process-wide generation when it is written and again when it commits, and an answer
read before that is not used), one made by another process (the CLI, another web process)
within `POLICY_TTL` seconds, the time an answer is kept.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kinfolk.db.database import Database
from kinfolk.domain.moderation import domain_block_repo as repo
from kinfolk.domain.moderation.models import DOMAIN_BLOCK_SEVERITIES, DomainBlock
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable

MAX_DOMAIN_LENGTH = 253


def normalize_domain(value: str) -> str:
    """The one comparable spelling of a host name: IDNA-encoded, lower case, no trailing dot, no port.

    Raises `Unprocessable` for what cannot be a host name."""
    host = value.strip()
    if host.count(":") == 1 and host.rsplit(":", 1)[1].isdigit():
        host = host.rsplit(":", 1)[0]  # a port names the same server
    host = host.rstrip(".")
    if not host or any(c in host for c in "/@:[]% \t\n"):
        raise Unprocessable(f"Not a domain name: {value[:100]}")
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise Unprocessable(f"Not a domain name: {value[:100]}") from exc
    encoded = encoded.lower()
    if len(encoded) > MAX_DOMAIN_LENGTH or any(not label for label in encoded.split(".")):
        raise Unprocessable(f"Not a domain name: {value[:100]}")
    return encoded


def candidates(domain: str) -> list[str]:
    """`a.b.example.com` -> it and every parent: the blocks that could cover it."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


@dataclass(frozen=True)
class DomainPolicy:
    """What the instance does with one remote server."""

    suspended: bool = False
    silenced: bool = False
    reject_media: bool = False
    reject_reports: bool = False

    @property
    def blocked(self) -> bool:
        return self.suspended


ALLOWED = DomainPolicy()


def _policy(block: DomainBlock | None) -> DomainPolicy:
    if block is None:
        return ALLOWED
    return DomainPolicy(
        suspended=block.severity == "suspend",
        silenced=block.severity == "silence",
        reject_media=block.reject_media or block.severity == "suspend",
        reject_reports=block.reject_reports or block.severity == "suspend",
    )


async def find_block(session: AsyncSession, domain: str) -> DomainBlock | None:
    """The most specific block covering `domain`, if any."""
    try:
        normal = normalize_domain(domain)
    except Unprocessable:
        return None
    found = await repo.blocks_for(session, candidates(normal))
    if not found:
        return None
    return max(found, key=lambda block: len(block.domain))


async def policy_for(session: AsyncSession, domain: str | None) -> DomainPolicy:
    """The policy for a remote server (local content, `domain=None`, is never blocked)."""
    if domain is None:
        return ALLOWED
    return _policy(await find_block(session, domain))


# Names per lookup in `policies_for`: well under every database's limit on bound parameters.
_LOOKUP_CHUNK = 900


async def policies_for(session: AsyncSession, domains: Iterable[str]) -> dict[str, DomainPolicy]:
    """The policy of each of `domains`, as `policy_for` would answer it, in one lookup per 900
    names rather than one per domain: a post's delivery plan can name a thousand servers."""
    wanted = list(dict.fromkeys(domains))
    normal: dict[str, str] = {}
    for domain in wanted:
        try:
            normal[domain] = normalize_domain(domain)
        except Unprocessable:
            continue
    names = sorted({name for value in normal.values() for name in candidates(value)})
    found: dict[str, DomainBlock] = {}
    for start in range(0, len(names), _LOOKUP_CHUNK):
        for block in await repo.blocks_for(session, names[start : start + _LOOKUP_CHUNK]):
            found[block.domain] = block
    policies: dict[str, DomainPolicy] = {}
    for domain in wanted:
        covering = (
            [found[name] for name in candidates(normal[domain]) if name in found] if domain in normal else []
        )
        policies[domain] = _policy(max(covering, key=lambda block: len(block.domain)) if covering else None)
    return policies


# How long a block change made by another process may take to be seen here: the price of not
# reading the blocks on every inbox request.
POLICY_TTL = 5.0
# Domains remembered per process; past this the cache starts afresh (memory stays bounded).
MAX_CACHED_POLICIES = 10_000
_CACHE_KEY = "domain_blocks.policy_cache"
_CHANGED = "kinfolk.domain_blocks_changed"
_changes = itertools.count(1)
# Bumped by every block change of this process: an answer read under an older one is not used.
_generation = 0


def _bump() -> None:
    global _generation
    _generation = next(_changes)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _bump()


def _changed(session: AsyncSession) -> None:
    """A block was written in `session`: answers read until it commits must not be kept."""
    session.info[_CHANGED] = True
    _bump()


class PolicyCache:
    """`policy_for`, remembered per domain for `POLICY_TTL` seconds (see the module's doc)."""

    def __init__(self, ttl: float = POLICY_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, int, DomainPolicy]] = {}

    async def policy(self, db: Database, domain: str | None) -> DomainPolicy:
        if domain is None:
            return ALLOWED
        now = self.clock()
        found = self._entries.get(domain)
        if found is not None and found[0] > now and found[1] == _generation:
            return found[2]
        generation = _generation  # before the read: a change committed meanwhile outdates it
        async with db.uow(write=False) as uow:
            policy = await policy_for(uow.session, domain)
        if len(self._entries) >= MAX_CACHED_POLICIES:
            self._entries.clear()
        self._entries[domain] = (now + self.ttl, generation, policy)
        return policy


def policy_cache(store: MutableMapping[str, Any]) -> PolicyCache:
    """The process's cache, kept in `store` (the container's extras: one per database)."""
    cache = store.get(_CACHE_KEY)
    if not isinstance(cache, PolicyCache):
        cache = store[_CACHE_KEY] = PolicyCache()
    return cache


@dataclass(frozen=True)
class BlockRequest:
    domain: str
    severity: str = "silence"
    reject_media: bool = False
    reject_reports: bool = False
    private_comment: str = ""
    public_comment: str = ""
    obfuscate: bool = False


async def block_domain(session: AsyncSession, request: BlockRequest) -> DomainBlock:
    """Create or change the block on a domain, and mark its accounts accordingly."""
    if request.severity not in DOMAIN_BLOCK_SEVERITIES:
        raise Unprocessable(f"Severity must be one of: {', '.join(DOMAIN_BLOCK_SEVERITIES)}")
    domain = normalize_domain(request.domain)
    block = await repo.get_block(session, domain)
    if block is not None:
        # A changed severity starts from a clean slate: undo the old marks, then apply the new.
        await repo.unmark_accounts(session, domain, block.created_at)
        block.created_at = utcnow()
    else:
        block = DomainBlock(domain=domain, created_at=utcnow())
        session.add(block)
    block.severity = request.severity
    block.reject_media = request.reject_media
    block.reject_reports = request.reject_reports
    block.private_comment = request.private_comment
    block.public_comment = request.public_comment
    block.obfuscate = request.obfuscate
    block.updated_at = block.created_at
    _changed(session)
    await session.flush()
    await repo.mark_accounts(
        session,
        domain,
        suspended=block.created_at if block.severity == "suspend" else None,
        silenced=block.created_at if block.severity == "silence" else None,
    )
    return block


async def unblock_domain(session: AsyncSession, domain: str) -> None:
    normal = normalize_domain(domain)
    block = await repo.get_block(session, normal)
    if block is None:
        raise NotFound()
    await repo.unmark_accounts(session, normal, block.created_at)
    _changed(session)
    await session.delete(block)
    await session.flush()


async def list_blocks(session: AsyncSession) -> list[DomainBlock]:
    return await repo.all_blocks(session)


def obfuscated(domain: str) -> str:
    """The public spelling of an obfuscated block, as Mastodon shows it: the first and last quarter
    of the name visible, the characters between starred (dots kept)."""
    length = len(domain)
    visible = length // 4
    return "".join(
        "*" if visible < i < length - visible and char != "." else char for i, char in enumerate(domain)
    )
