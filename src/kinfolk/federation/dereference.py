"""Finding things on other servers: WebFinger, actors, their keys, and posts by id.

Every function here does its network first and writes afterwards, in one short unit of work of
its own: no transaction is ever open while a remote server is being waited for (on SQLite that
would hold the write lock for every writer of the process).

What is trusted comes from where it was fetched: `Transport.get_json` refuses a document whose
`id` is on another origin than the URL that served it (checklist 34), a post's author must share
the post's origin, an actor's key must be the actor's own. Fetches are signed with the instance
actor's key (authorized-fetch servers answer only signed requests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urldefrag

from sqlalchemy import select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts import repo as accounts_repo
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.remote import RemoteAccountData, RemoteAccountRefused, upsert_remote_account
from kinfolk.domain.moderation.domain_blocks import policy_for
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.federation import notes
from kinfolk.federation.actors import actor_domain, remote_account_data
from kinfolk.federation.parse.actor import ParsedActor, parse_actor
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.discovery import ParsedWebFinger, parse_webfinger
from kinfolk.federation.parse.object import ParsedNote, parse_note
from kinfolk.federation.parse.values import ParseError, host, https_url, same_origin, types
from kinfolk.federation.service import instance_signer, transport
from kinfolk.infra.fetch import JRD_TYPES, FetchError
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.federation")

# An actor is fetched again when what we hold is older than this (Mastodon: a day).
ACTOR_REFRESH = timedelta(days=1)
# How far up a reply chain a fetched post's parents are fetched (checklist 44).
MAX_REPLY_DEPTH = 5
# The collections' totalItems are worth one short GET each, not a slow server's deadline.
COUNT_TIMEOUT = 5.0
JRD_ACCEPT = "application/jrd+json, application/json"
# The job reading a remote actor's `featured` and `featuredTags` (federation/featured.py).
FETCH_FEATURED = "federation.fetch_featured"


async def _get(container: Container, url: str, *, expected_id: str | None = None) -> dict[str, Any]:
    return await get_signed(container, url, expected_id=expected_id)


async def get_signed(container: Container, url: str, *, expected_id: str | None = None) -> dict[str, Any]:
    """One GET signed by the instance actor; the document's id must be `url` (or `expected_id`)."""
    signer = await instance_signer(container)
    document = await transport(container).get_json(url, signer, expected_id=expected_id or url)
    return document.json


async def get_document(container: Container, url: str) -> dict[str, Any]:
    """One signed GET of a remote object whose kind is not known yet (a URL pasted in a search);
    a suspended server is not asked (FetchError)."""
    if _own_domain(container, url) or await _suspended(container, url):
        raise FetchError("not fetched: our own or a suspended server", permanent=True)
    return await _get(container, url)


def _own_domain(container: Container, url: str) -> bool:
    return container.uris.is_local(url)


async def _suspended(container: Container, url: str) -> bool:
    """Whether `url`'s server is suspended here (nothing is fetched from it, nothing stored)."""
    domain = host(url)
    if domain is None:
        return True
    async with container.db.uow(write=False) as uow:
        return (await policy_for(uow.session, domain.split(":", 1)[0])).suspended


# --- WebFinger ---------------------------------------------------------------------------------


async def webfinger_lookup(container: Container, username: str, domain: str) -> ParsedWebFinger | None:
    """The WebFinger answer of `domain` for `acct:username@domain`, or None (no answer, a bad
    one, a suspended server, or a handle that names no host). The scheme is ours (https, or
    http in a harness running over plain HTTP)."""
    username = username.strip().lstrip("@")
    domain = domain.strip().lower()
    if not username or "/" in username or "@" in username or len(username) > 255:
        return None
    origin = https_url(f"{container.settings.protocol}://{domain}/")
    if origin is None or host(origin) != domain or _own_domain(container, origin):
        return None
    if await _suspended(container, origin):
        return None  # a suspended server is not even asked
    resource = quote(f"acct:{username}@{domain}", safe=":@")
    url = f"{origin}.well-known/webfinger?resource={resource}"
    try:
        document = await transport(container).get_json(
            url,
            accept=JRD_ACCEPT,
            content_types=JRD_TYPES | {"application/activity+json"},
            check_id_origin=False,
        )
        return parse_webfinger(document.json)
    except (FetchError, ParseError) as exc:
        log.info("webfinger %s@%s failed: %s", username, domain, exc)
        return None


async def webfinger(container: Container, username: str, domain: str) -> str | None:
    """The actor id `acct:username@domain` names, or None."""
    found = await webfinger_lookup(container, username, domain)
    return None if found is None else found.actor_url


def split_acct(subject: str) -> tuple[str, str] | None:
    """`acct:user@domain` (or `user@domain`) -> (user, lower-cased domain); None otherwise."""
    value = subject.removeprefix("acct:").lstrip("@")
    username, at, domain = value.rpartition("@")
    if not at or not username or not domain or "@" in username or "/" in domain:
        return None
    return username, domain.lower()


@dataclass(frozen=True, slots=True)
class Handle:
    """The `username@domain` an actor is stored under. `checked`: WebFinger answered, so this
    is what its servers say now; otherwise (a server down) a handle stored before is kept."""

    username: str
    domain: str
    checked: bool


async def verified_handle(
    container: Container, parsed: ParsedActor, *, confirmed: Mapping[str, str] | None = None
) -> Handle | None:
    """The handle of an actor fetched from its id, found by WebFinger as Mastodon does: the
    actor's host is asked for `preferredUsername@host`; when its answer's subject names another
    domain D, D is believed only if D's own answer for that subject points back to the actor.
    Otherwise the handle stays on the actor's host. At most two requests; none to a domain
    whose answer the caller already holds (`confirmed`: lower-cased `user@domain` -> actor id).
    None when D is suspended here: an actor claiming a suspended server's handle is refused."""
    host_domain = actor_domain(parsed.id)
    on_host = Handle(parsed.preferred_username, host_domain, checked=True)
    if (
        confirmed is not None
        and confirmed.get(f"{parsed.preferred_username}@{host_domain}".lower()) == parsed.id
    ):
        return on_host  # the actor's host answered for it already
    first = await webfinger_lookup(container, parsed.preferred_username, host_domain)
    if first is None:
        return replace(on_host, checked=False)
    claimed = split_acct(first.subject)
    if claimed is None or first.actor_url != parsed.id:
        return on_host
    username, domain = claimed
    if domain == host_domain:
        return Handle(username, domain, checked=True)
    origin = https_url(f"{container.settings.protocol}://{domain}/")
    if origin is None or host(origin) != domain or _own_domain(container, origin):
        return on_host
    if await _suspended(container, origin):
        return None
    acct = f"{username}@{domain}".lower()
    if confirmed is not None and confirmed.get(acct) == parsed.id:
        return Handle(username, domain, checked=True)
    second = await webfinger_lookup(container, username, domain)
    if second is None:
        return replace(on_host, checked=False)
    answered = split_acct(second.subject)
    if answered is None or (answered[0].lower(), answered[1]) != (username.lower(), domain):
        return on_host  # D redirects once more: no further hop is followed
    return Handle(username, domain, checked=True) if second.actor_url == parsed.id else on_host


# --- Actors ------------------------------------------------------------------------------------


async def _stored_actor(container: Container, uri: str) -> Account | None:
    async with container.db.uow(write=False) as uow:
        if _own_domain(container, uri):
            name = container.uris.parse_actor(uri)
            return await accounts_repo.get_by_username(uow.session, name) if name else None
        found: Account | None = (
            await uow.session.execute(select(Account).where(Account.uri == uri))
        ).scalar_one_or_none()
        return found


def fresh(account: Account) -> bool:
    """Whether a remote account was fetched recently enough to be used as it is."""
    return account.fetched_at is not None and utcnow() - account.fetched_at < ACTOR_REFRESH


async def _total(container: Container, url: str | None) -> int | None:
    if url is None:
        return None
    try:
        async with asyncio.timeout(COUNT_TIMEOUT):
            document = await _get(container, url)
        return parse_collection(document).total_items
    except (FetchError, ParseError, TimeoutError):
        return None


def account_data(parsed: ParsedActor) -> RemoteAccountData:
    """A parsed actor as the accounts domain stores it (`actors.remote_account_data`), the key
    kept only when the document says it is the actor's own and it lives on the actor's origin."""
    data = remote_account_data(parsed, utcnow())
    key_ok = (
        parsed.public_key_pem is not None
        and parsed.public_key_owner in (None, parsed.id)
        and (parsed.public_key_id is None or same_origin(parsed.public_key_id, parsed.id))
    )
    if not key_ok:
        data.public_key_pem, data.public_key_id = "", None
    return data


async def store_actor(
    container: Container,
    parsed: ParsedActor,
    *,
    counts: bool = False,
    keep_key: bool = False,
    check_handle: bool = False,
    confirmed: Mapping[str, str] | None = None,
    uow: UnitOfWork | None = None,
) -> Account | None:
    """Upsert a parsed actor (already fetched from its origin or verified) in a short unit of
    work. `keep_key`: an account that has a key keeps it (an `Update` does not rotate keys,
    checklist 21; only a refetch after a failed verification does). `check_handle`: its
    handle is found by WebFinger first (`verified_handle`, network before the write, so not
    with a caller's `uow`); without it an account stored under a checked handle keeps it."""
    data = account_data(parsed)
    urls = (parsed.followers, parsed.following, parsed.outbox)
    totals = asyncio.gather(*(_total(container, url) for url in urls)) if counts else None
    try:
        if check_handle and uow is None:
            handle = await verified_handle(container, parsed, confirmed=confirmed)
            if handle is None:
                log.info("actor %s refused: its handle names a suspended server", parsed.id)
                return None
            data.username, data.domain, data.handle_checked = handle.username, handle.domain, handle.checked
        if totals is not None:
            data.followers_count, data.following_count, data.statuses_count = await totals
    finally:
        if totals is not None and not totals.done():
            totals.cancel()
    if uow is not None:
        return await _upsert(uow, data, keep_key=keep_key)
    async with container.db.uow() as own:
        return await _upsert(own, data, keep_key=keep_key)


async def _upsert(uow: UnitOfWork, data: RemoteAccountData, *, keep_key: bool) -> Account | None:
    session = uow.session
    if keep_key:
        held = (await session.execute(select(Account).where(Account.uri == data.uri))).scalar_one_or_none()
        if held is not None and held.public_key_pem:
            data.public_key_pem, data.public_key_id = held.public_key_pem, held.public_key_id
    try:
        # Refusals come before any write (`upsert_remote_account` promises it).
        account = await upsert_remote_account(uow, data)
    except RemoteAccountRefused as exc:
        log.info("actor %s refused: %s", data.uri, exc)
        return None
    if account.featured_url or account.featured_tags_url:
        # Its pinned posts and featured tags, read by a job of their own, once a day at most.
        day = utcnow().date().isoformat()
        dedup_key = f"featured:{account.id}:{day}"
        await uow.enqueue(FETCH_FEATURED, {"account_id": account.id}, dedup_key=dedup_key)
    return account


def _claimed_elsewhere(stored: Account, confirmed: Mapping[str, str] | None) -> bool:
    """Whether a domain other than the stored handle's claims this actor (its handle is then
    checked again, however fresh the row)."""
    return any(
        uri == stored.uri and acct.rpartition("@")[2] != (stored.domain or "").lower()
        for acct, uri in (confirmed or {}).items()
    )


async def fetch_actor(
    container: Container, uri: str, *, refresh: bool = False, confirmed: Mapping[str, str] | None = None
) -> Account | None:
    """The account for actor id `uri`: ours without any fetch, a remote one from the database
    when fetched less than a day ago (unless `refresh`), else fetched, parsed, its handle
    checked by WebFinger (`verified_handle`; `confirmed` holds answers the caller already has)
    and upserted. None when it cannot be had (and nothing usable was stored before)."""
    clean = https_url(urldefrag(uri)[0] if "#" in uri else uri)
    if clean is None:
        return None
    stored = await _stored_actor(container, clean)
    if _own_domain(container, clean):
        return stored
    if stored is not None and not refresh and fresh(stored) and not _claimed_elsewhere(stored, confirmed):
        return stored
    if await _suspended(container, clean):
        return None
    try:
        document = await _get(container, clean)
        parsed = parse_actor(document)
    except (FetchError, ParseError) as exc:
        log.info("actor %s not fetched: %s", clean, exc)
        return stored
    if not same_origin(parsed.id, clean):
        return stored
    return await store_actor(container, parsed, counts=True, check_handle=True, confirmed=confirmed) or stored


# --- Posts -------------------------------------------------------------------------------------


async def _stored_status(container: Container, uri: str) -> tuple[Status | None, bool]:
    """(the status stored under `uri` or our own status at that URL, whether `uri` is tombstoned)."""
    async with container.db.uow(write=False) as uow:
        session = uow.session
        named = container.uris.parse_status(uri) if _own_domain(container, uri) else None
        if named is not None:
            local = await session.get(Status, named[1])
            return (local if local is not None and local.deleted_at is None else None), False
        status = (await session.execute(select(Status).where(Status.uri == uri))).scalar_one_or_none()
        if status is not None and status.deleted_at is not None:
            return None, True  # deleted here: never handed out again, nor fetched anew
        tombstoned = status is None and await session.get(Tombstone, uri) is not None
        return status, tombstoned


async def fetch_note(
    container: Container,
    uri: str,
    *,
    depth: int = 0,
    _visited: set[str] | None = None,
    quiet: bool = False,
    max_depth: int = MAX_REPLY_DEPTH,
) -> Status | None:
    """The status with id `uri`: stored already, or fetched from its origin, checked (its author
    shares its origin), its parents fetched first up to `max_depth` (a visited set stops
    cycles) and stored through `notes.ingest_note`. None when it cannot be had or is refused.
    `quiet`: fetched to complete a thread or a profile (`notes.ingest_note`)."""
    clean = https_url(uri)
    if clean is None:
        return None
    visited = _visited if _visited is not None else set()
    visited.add(clean)
    stored, tombstoned = await _stored_status(container, clean)
    if stored is not None or tombstoned or _own_domain(container, clean):
        return stored
    if await _suspended(container, clean):
        return None
    try:
        document = await _get(container, clean)
        parsed = parse_note(document)
    except (FetchError, ParseError) as exc:
        log.info("note %s not fetched: %s", clean, exc)
        return None
    if parsed.id != clean:
        # Fetched by its page URL: the id it gives (same origin, checked) is what we store.
        visited.add(parsed.id)
        stored, tombstoned = await _stored_status(container, parsed.id)
        if stored is not None or tombstoned:
            return stored
    return await store_fetched_note(
        container, parsed, depth=depth, visited=visited, quiet=quiet, max_depth=max_depth
    )


async def store_fetched_note(
    container: Container,
    parsed: ParsedNote,
    *,
    depth: int = 0,
    visited: set[str] | None = None,
    author: Account | None = None,
    uow: UnitOfWork | None = None,
    quiet: bool = False,
    max_depth: int = MAX_REPLY_DEPTH,
) -> Status | None:
    """Store a post whose document came from its own origin: its author fetched (sharing that
    origin), its parent fetched first while the chain is short enough, then one write (in `uow`
    when given: a job's own unit of work, untouched until now)."""
    if not same_origin(parsed.attributed_to, parsed.id):
        return None
    if author is None or author.uri != parsed.attributed_to:
        author = await fetch_actor(container, parsed.attributed_to)
    if author is None or author.domain is None or author.suspended_at is not None:
        return None
    seen = visited if visited is not None else {parsed.id}
    seen.add(parsed.id)
    parent: Status | None = None
    if parsed.in_reply_to is not None and parsed.in_reply_to not in seen and depth < max_depth:
        parent = await fetch_note(
            container,
            parsed.in_reply_to,
            depth=depth + 1,
            _visited=seen,
            quiet=quiet,
            max_depth=max_depth,
        )
    if uow is not None:
        return await notes.ingest_note(container, uow, author, parsed, in_reply_to=parent, quiet=quiet)
    async with container.db.uow() as own:
        return await notes.ingest_note(container, own, author, parsed, in_reply_to=parent, quiet=quiet)


# --- Forwarded Update and Delete: the origin is asked, the sender is not believed --------------

GONE_STATUSES = frozenset({404, 410})


async def gone_at_origin(container: Container, uri: str) -> bool:
    """Whether the object `uri` (a post, an actor) is gone, as its own origin says: a 404 or 410
    answered from that origin (not from where a redirect led), or a `Tombstone`. A timeout, a
    5xx or a document that is still there all say no; a suspended or our own origin is not
    asked. What a `Delete` sent by someone else than the object's owner is checked against."""
    clean = https_url(uri)
    if clean is None or _own_domain(container, clean) or await _suspended(container, clean):
        return False
    try:
        document = await _get(container, clean)
    except FetchError as exc:
        answered_by_origin = exc.url is not None and same_origin(exc.url, clean)
        return answered_by_origin and exc.status in GONE_STATUSES
    return "Tombstone" in types(document)


async def refetch_note(container: Container, uri: str) -> tuple[Account, ParsedNote] | None:
    """A post stored here, fetched again from its origin: its current version and its author
    (sharing the post's origin), for an `Update` that someone else than the author sent; None
    when it is not stored here, or the origin does not serve it. Only what the origin serves
    is applied, never the copy that came with the activity (checklist 24)."""
    clean = https_url(uri)
    if clean is None or _own_domain(container, clean):
        return None
    stored, _ = await _stored_status(container, clean)
    if stored is None or stored.local or await _suspended(container, clean):
        return None  # an unknown post is not created by an Update (Mastodon neither)
    try:
        parsed = parse_note(await _get(container, clean))
    except (FetchError, ParseError) as exc:
        log.info("note %s not fetched again: %s", clean, exc)
        return None
    if parsed.id != clean or not same_origin(parsed.attributed_to, parsed.id):
        return None
    author = await fetch_actor(container, parsed.attributed_to)
    if author is None or author.domain is None or author.id != stored.account_id:
        return None
    return author, parsed


async def fetch_collection_note(
    container: Container, item: str | Mapping[str, Any], owner: Account
) -> Status | None:
    """A post listed in `owner`'s own collection (its `featured`): an embedded copy is believed
    only when it is `owner`'s and lives on `owner`'s origin (the collection came from there);
    anything else is fetched by id from its own origin (`fetch_note`). None when it cannot be
    had."""
    if isinstance(item, str):
        return await fetch_note(container, item)
    try:
        parsed = parse_note(item)
    except ParseError:
        item_id = https_url(item.get("id"))
        return await fetch_note(container, item_id) if item_id else None
    if owner.uri is None or parsed.attributed_to != owner.uri or not same_origin(parsed.id, owner.uri):
        return await fetch_note(container, parsed.id)
    stored, tombstoned = await _stored_status(container, parsed.id)
    if stored is not None or tombstoned:
        return stored
    return await store_fetched_note(container, parsed, author=owner)
