"""The public key behind an incoming signature, and the remote account that owns it.

A key we know is read from the accounts table (`public_key_id`, or the actor's id for servers
that name the key by the actor), by one prepared statement on the reader's connection: the
inbox asks on every activity, and an ORM read unit of work cost more than the rest of a
verification (bench/RESULTS.md, G3). Nothing is cached: a rotated key, a refetched actor or a
suspension is seen by the next request, whichever process wrote it. An unknown key is fetched
once, signed by the instance actor, and believed only when the actor document lists exactly
this key id as its own key (`publicKey.id == keyId`, `owner == actor id`, same origin as the
key id: checklist 20; or an Ed25519 `assertionMethod` Multikey of that id controlled by the
actor, FEP-521a); the actor is then stored through the one remote-account upsert. The key
comes back as its RSA PEM or its Ed25519 Multikey text (`message_signatures.load_verification_key`
reads both).

`refresh=True` is the inbox's second try after a failed verification (key rotation). It fetches
again at most once per key per `REFRESH_COOL_DOWN` in this process, so forged signatures naming
someone's key can't make us fetch that key over and over (checklist 16).

Fetching a key we never saw costs us a request to a server the sender names, so it is budgeted
(checklist A.15): at most `KEY_FETCHES_PER_MINUTE` such fetches per minute for one source
address and as many for one keyId site (`kernel/hosts.site_of`), counted in this process.
Past either, `fetch_budget` says how long to wait and nothing is fetched: many made-up keyIds
from one address, or naming one victim's hosts from many addresses, cost a bounded number of
requests while every sender whose key is stored is served as before.

No network runs inside a transaction: reads and the upsert are short units of work of their own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, or_, select

from kinfolk.container import Container
from kinfolk.db.prepared import Prepared, Row, run_in
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.remote import RemoteAccountRefused, upsert_remote_account
from kinfolk.federation import service
from kinfolk.federation.actors import remote_account_data
from kinfolk.federation.parse.actor import ParsedActor, is_actor, parse_actor
from kinfolk.federation.parse.values import ParseError, first_id, same_origin
from kinfolk.infra.fetch import FetchError
from kinfolk.infra.outbound import DisallowedDestination, check_url
from kinfolk.infra.ratelimit import MemoryRateLimiter
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.hosts import site_of

REFRESH_COOL_DOWN = 300.0
# Unknown keys fetched per minute for one source address, and for one keyId site.
KEY_FETCHES_PER_MINUTE = 120
KEY_FETCH_PERIOD = 60.0
_BUDGET = "federation.keys.fetch_budget"
# Keys remembered for the cool-down; the oldest are forgotten past this (memory stays bounded).
MAX_COOL_DOWN_ENTRIES = 10_000
_COOL_DOWN = "federation.keys.refreshed"


class KeyRefused(Exception):
    """The key must not be fetched or believed (a private address, our own domain, a key its
    actor does not claim). `reason` is for the 401 answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyUnavailable(Exception):
    """The key could not be had; `gone` when its server said it does not exist (404/410)."""

    def __init__(self, reason: str, *, gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.gone = gone


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


@dataclass(frozen=True)
class KeyOwner:
    """The remote account a key belongs to, as much of it as checking a signature needs."""

    account_id: int
    uri: str
    domain: str | None
    suspended: bool


_KNOWN_KEY = Prepared(
    select(
        Account.id,
        Account.uri,
        Account.domain,
        Account.suspended_at,
        Account.public_key_id,
        Account.public_key_pem,
        Account.ed25519_key_id,
        Account.ed25519_public_key,
    )
    .where(
        Account.domain.is_not(None),
        or_(
            Account.public_key_id == bindparam("key_id"),
            Account.ed25519_key_id == bindparam("ed25519_key_id"),
            Account.uri == bindparam("actor"),
        ),
    )
    .limit(4)
)


def owner_of(account: Account) -> KeyOwner:
    return KeyOwner(
        account_id=account.id,
        uri=account.uri or "",
        domain=account.domain,
        suspended=account.suspended_at is not None,
    )


def _key_in(row: Row, key_id: str) -> str | None:
    """A stored row's key named `key_id`: its Ed25519 Multikey text, or its RSA PEM (the actor
    id names the RSA key, as some servers do). Columns as `_KNOWN_KEY` selects them."""
    if row[6] == key_id and row[7]:
        return str(row[7])
    if row[5] and row[4] in (key_id, None):
        return str(row[5])
    return None


async def known_key(container: Container, key_id: str) -> tuple[KeyOwner, str] | None:
    """The stored remote account whose key is `key_id`, with the key: its RSA PEM, or for its
    Ed25519 `assertionMethod` key the Multikey text; None when we have none."""
    values = {"key_id": key_id, "ed25519_key_id": key_id, "actor": without_fragment(key_id)}
    rows: Sequence[Row]
    if container.reader.available:
        async with container.reader.connection() as connection:
            rows = await connection.fetch(_KNOWN_KEY, values)
    else:
        async with container.db.uow(write=False) as uow:
            rows = await run_in(uow.session, _KNOWN_KEY, values)
    # The key named by its own id first, then an actor named by the key id.
    for row in sorted(rows, key=lambda r: key_id not in (r[4], r[6])):
        found = _key_in(row, key_id)
        if found is not None:
            owner = KeyOwner(account_id=row[0], uri=row[1] or "", domain=row[2], suspended=row[3] is not None)
            return owner, found
    return None


def _may_refresh(container: Container, key_id: str) -> bool:
    """True (and the time noted) when `key_id` was not refetched within the cool-down."""
    seen: dict[str, float] = container.extras.setdefault(_COOL_DOWN, {})
    now = time.monotonic()
    last = seen.get(key_id)
    if last is not None and now - last < REFRESH_COOL_DOWN:
        return False
    seen.pop(key_id, None)
    seen[key_id] = now
    while len(seen) > MAX_COOL_DOWN_ENTRIES:
        del seen[next(iter(seen))]
    return True


async def fetch_budget(container: Container, source: str | None, key_id: str) -> float | None:
    """None when an unknown key may be fetched now for a request from `source` (the fetch is
    counted against the address and the key's site), else the seconds until it may."""
    limiter: MemoryRateLimiter = container.extras.setdefault(_BUDGET, MemoryRateLimiter())
    try:
        key_host = urlsplit(key_id).hostname or ""
    except ValueError:
        key_host = ""
    for key in (f"address:{source or '-'}", f"site:{site_of(key_host)}"):
        hit = await limiter.take(key, KEY_FETCHES_PER_MINUTE, KEY_FETCH_PERIOD)
        if not hit.allowed:
            return max(1.0, hit.reset - time.time())
    return None


async def key_for(container: Container, key_id: str, *, refresh: bool = False) -> tuple[KeyOwner, str] | None:
    """The account and PEM of `key_id`: stored, else fetched. With `refresh`, fetched again
    (once per cool-down; None when the cool-down forbids it). Raises `KeyRefused` and
    `KeyUnavailable`."""
    if container.uris.is_local(key_id):
        raise KeyRefused("Key id names this server")
    if not refresh:
        found = await known_key(container, key_id)
        if found is not None:
            return found
    elif not _may_refresh(container, key_id):
        return None
    parsed = await _fetch_key_actor(container, key_id)
    try:
        data = remote_account_data(parsed, utcnow())
    except ValueError as exc:
        raise KeyRefused(f"Unable to store the key's actor: {exc}") from exc
    try:
        async with container.db.uow() as uow:
            account = await upsert_remote_account(uow, data)
    except RemoteAccountRefused as exc:
        raise KeyRefused(f"Unable to store the key's actor: {exc}") from exc
    if data.ed25519_key_id == key_id and data.ed25519_public_key:
        return owner_of(account), data.ed25519_public_key
    return owner_of(account), data.public_key_pem


async def _get(container: Container, url: str) -> Mapping[str, Any]:
    try:
        check_url(url, container.settings.allowed_private_networks)
    except (DisallowedDestination, ValueError) as exc:
        raise KeyRefused(f"Key id refused: private network address ({exc})") from exc
    signer = await service.instance_signer(container)
    try:
        fetched = await service.transport(container).get_json(url, signer)
    except FetchError as exc:
        if exc.reason.startswith("refused destination"):
            raise KeyRefused(f"Key id refused: private network address ({exc.reason})") from exc
        raise KeyUnavailable(
            f"Unable to fetch key {url}: {exc.reason}", gone=exc.status in (404, 410)
        ) from exc
    return fetched.json


async def _fetch_key_actor(container: Container, key_id: str) -> ParsedActor:
    """The actor that owns `key_id`, as fetched from its origin, checked to claim the key."""
    document = await _get(container, without_fragment(key_id))
    if not is_actor(document):
        # A key document (`{"id": key, "owner": actor, "publicKeyPem": ...}`, or a Multikey's
        # `controller`): its actor decides.
        owner = first_id(document.get("owner")) or first_id(document.get("controller"))
        if owner is None or not same_origin(owner, key_id) or container.uris.is_local(owner):
            raise KeyRefused(f"Key mismatch: {key_id} names no actor of its own origin")
        document = await _get(container, without_fragment(owner))
    try:
        actor = parse_actor(document)
    except ParseError as exc:
        raise KeyUnavailable(f"Unable to fetch key {key_id}: {exc}") from exc
    if not same_origin(actor.id, key_id) or container.uris.is_local(actor.id):
        raise KeyRefused(f"Key mismatch: actor {actor.id} is not of the key's origin")
    if actor.ed25519_key_id == key_id and actor.ed25519_public_key:
        return actor  # its own assertionMethod key (controller and origin checked by the parser)
    if actor.public_key_id != key_id or not actor.public_key_pem:
        raise KeyRefused(f"Key mismatch: {actor.id} does not list {key_id} as its key")
    if actor.public_key_owner is not None and actor.public_key_owner != actor.id:
        raise KeyRefused(f"Key mismatch: {key_id} is owned by {actor.public_key_owner}, not {actor.id}")
    return actor
