"""Whole threads and whole profiles: what other servers hold, fetched in the background.

A thread opened here (`GET /api/v1/statuses/:id/context` on a thread holding a remote post)
asks once an hour for its missing posts (`domain/backfill.request_thread`). The job reads the
FEP-f228 `context` collection of a remote root when its server publishes one (Mastodon 4.4+
does, as do Friendica, Pleroma and others), then walks the `replies` breadth-first from the
root: a post of ours by the replies stored here, another server's by its `replies` collection
(what a context collection left out, a reply its author's server alone knows, is found there).
A remote root answering a post unknown here first has its parents fetched and is linked to
them, and the walk starts from the real top. A remote account looked up by a search or whose
profile is opened (`domain/backfill.request_profile`) gets its outbox's first page: its recent
public and unlisted posts (boosts are left: storing one would tell the boosted author).

Every post is fetched by its id from its own origin and stored through
`dereference.store_fetched_note` (the one store), quietly: a backfilled post is old news, so no
home feed, stream or notification hears of it (`NewStatus.quiet`). Items embedded in a
collection are never believed as they came; only their ids are used. Bounded per run: at most
`MAX_POSTS` posts, `MAX_PAGES` collection pages (each page URL read once: a `next` chain that
loops or never ends stops there), `MAX_DEPTH` reply levels, and `SECONDS` of wall time; pages
must stay on their collection's origin. Every fetch happens with no unit of work open; each
post is one short write of its own, so what was stored before a limit stopped the walk stays.

No stream event is published for backfilled posts: Mastodon streams none for a thread's
context, and clients read the thread again (`context`) when it is opened, which shows them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.backfill import PROFILE_JOB, THREAD_JOB
from kinfolk.domain.statuses import store
from kinfolk.domain.statuses.models import Status
from kinfolk.federation import dereference, repo
from kinfolk.federation.parse.collection import ParsedCollection, parse_collection
from kinfolk.federation.parse.object import ParsedNote, parse_note
from kinfolk.federation.parse.values import ParseError, first_id, https_url, same_origin, types
from kinfolk.infra.fetch import FetchError
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import handles

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.federation")

MAX_POSTS = 200
MAX_PAGES = 300
MAX_DEPTH = 50
SECONDS = 60.0
# A profile's backfill: the outbox's first page, at most this many of its items.
PROFILE_ITEMS = 20
PROFILE_PAGES = 2
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})


@dataclass(frozen=True, slots=True)
class Limits:
    posts: int = MAX_POSTS
    pages: int = MAX_PAGES
    depth: int = MAX_DEPTH
    seconds: float = SECONDS


class Walk:
    """One bounded walk: the posts and pages it has read, and what it may still read."""

    def __init__(self, container: Container, limits: Limits) -> None:
        self.container = container
        self.limits = limits
        self.seen: set[str] = set()
        self.docs: dict[str, ParsedNote] = {}
        self.pages_seen: set[str] = set()
        self.posts = 0
        self.pages = 0
        self.stored = 0

    @property
    def spent(self) -> bool:
        return self.posts >= self.limits.posts

    async def _document(self, url: str) -> dict[str, Any] | None:
        try:
            return await dereference.get_document(self.container, url)
        except FetchError as exc:
            log.info("backfill: %s not fetched: %s", url, exc)
            return None

    async def note(self, uri: str, *, parents: int = dereference.MAX_REPLY_DEPTH) -> ParsedNote | None:
        """Fetch the post `uri` (or the post a `Create` at `uri` carries, from its own origin)
        and store it quietly, its unknown parents first (up to `parents` levels). Counts one
        post of the budget, whether it was new or not; a post read before is not read again."""
        clean = https_url(uri)
        if clean is None:
            return None
        if clean in self.docs:
            return self.docs[clean]
        if clean in self.seen or self.spent or self.container.uris.is_local(clean):
            return None
        self.seen.add(clean)
        self.posts += 1
        document = await self._document(clean)
        if document is not None and "Create" in types(document):
            inner = first_id(document.get("object"))
            if inner is None or not same_origin(inner, clean) or inner in self.seen:
                return None
            self.seen.add(inner)
            document = await self._document(inner)
        if document is None:
            return None
        try:
            parsed = parse_note(document)
        except ParseError:
            return None
        self.seen.add(parsed.id)
        status = await dereference.store_fetched_note(
            self.container, parsed, visited=self.seen, quiet=True, max_depth=parents
        )
        if status is None:
            return None
        self.stored += 1
        self.docs[clean] = self.docs[parsed.id] = parsed
        return parsed

    async def children(self, uri: str) -> list[str]:
        """The ids of the replies to `uri`: ours from the database (everything sent to us is
        there), another server's from the post's `replies` collection on its origin."""
        if self.container.uris.is_local(uri):
            named = self.container.uris.parse_status(uri)
            if named is None:
                return []
            async with self.container.db.uow(write=False) as uow:
                replies = await repo.public_replies(uow.session, named[1], self.limits.posts)
            return [r.uri for r in replies if r.uri]
        parsed = self.docs.get(uri)
        if parsed is None or parsed.replies is None or not same_origin(parsed.replies, parsed.id):
            return []
        found: list[str] = []
        async for item in self.items(parsed.replies):
            target = item_id(item)
            if target is not None:
                found.append(target)
        return found

    async def _page(self, url: str) -> ParsedCollection | None:
        if url in self.pages_seen or self.pages >= self.limits.pages:
            return None
        self.pages_seen.add(url)
        self.pages += 1
        document = await self._document(url)
        if document is None:
            return None
        try:
            return parse_collection(document)
        except ParseError:
            return None

    async def items(
        self, collection_url: str, *, max_pages: int | None = None
    ) -> AsyncIterator[str | Mapping[str, Any]]:
        """The items of a collection, page after page (`first`, then each `next`), as long as
        the pages stay on the collection's origin and the budget lasts."""
        clean = https_url(collection_url)
        if clean is None or self.container.uris.is_local(clean):
            return
        collection = await self._page(clean)
        read = 1
        if collection is None:
            return
        page: ParsedCollection | None = collection
        if collection.first_page is not None:
            page = collection.first_page
        elif collection.first is not None and not collection.items:
            page = await self._next(clean, collection.first)
            read += 1
        while page is not None and not self.spent:
            for item in page.items:
                if self.spent:
                    return
                yield item
            if page.next is None or (max_pages is not None and read >= max_pages):
                return
            page = await self._next(clean, page.next)
            read += 1

    async def _next(self, collection_url: str, url: str) -> ParsedCollection | None:
        clean = https_url(url)
        if clean is None or not same_origin(clean, collection_url):
            return None
        return await self._page(clean)


def item_id(item: str | Mapping[str, Any]) -> str | None:
    """What a collection item names: an id, an embedded object's id, or a `Create`'s object."""
    if isinstance(item, str):
        return item
    if "Create" in types(item):
        return first_id(item.get("object"))
    return first_id(item)


async def backfill_thread(container: Container, root: Status, limits: Limits | None = None) -> Walk:
    """Fetch what other servers know of the thread below `root` (see the module)."""
    walk = Walk(container, limits or Limits())
    try:
        async with asyncio.timeout(walk.limits.seconds):
            await _thread(walk, root)
    except TimeoutError:
        log.info("backfill of %s stopped after %ss (%d posts)", root.uri, walk.limits.seconds, walk.posts)
    return walk


async def _ancestors(walk: Walk, root: Status, parsed: ParsedNote) -> Status | None:
    """A remote root that answers a post not linked here (its chain was longer than was fetched
    when it came): its parents fetched, up to the depth cap, and the root linked to them
    (`store.attach_parent`). Returns the thread's new top, or None."""
    if parsed.in_reply_to is None or root.in_reply_to_id is not None:
        return None
    parent = await dereference.fetch_note(
        walk.container, parsed.in_reply_to, quiet=True, max_depth=walk.limits.depth, _visited=set(walk.seen)
    )
    if parent is None:
        return None
    async with walk.container.db.uow() as uow:
        held = await uow.session.get(Status, root.id)
        above = await uow.session.get(Status, parent.id)
        if held is None or above is None or not await store.attach_parent(uow, held, above):
            return None
        top = above
        for _ in range(walk.limits.depth):
            if top.in_reply_to_id is None:
                break
            up = await uow.session.get(Status, top.in_reply_to_id)
            if up is None:
                break
            top = up
    return top


async def _thread(walk: Walk, root: Status) -> None:
    if root.uri is None:
        return
    root_uri: str = root.uri
    parsed: ParsedNote | None = None
    if not root.local:
        # The root counts as a post read: its document says where the thread's collections are.
        parsed = await walk.note(root_uri, parents=0)
        if parsed is None:
            return
        top = await _ancestors(walk, root, parsed)
        if top is not None and top.id != root.id and top.uri is not None:
            # The thread reaches higher than was known: it is walked from its real top.
            root_uri = top.uri
            parsed = None if top.local else await walk.note(root_uri, parents=0)
    if parsed is not None:
        context = https_url(parsed.context)
        if context is not None and context != parsed.id and same_origin(context, parsed.id):
            async for item in walk.items(context):
                target = item_id(item)
                if target is not None:
                    await walk.note(target)
    # Then (or else) the replies, breadth-first: what the context left out is found there.
    expanded = {root_uri}
    queue: deque[tuple[str, int]] = deque([(root_uri, 0)])
    while queue and not walk.spent:
        uri, depth = queue.popleft()
        if depth >= walk.limits.depth:
            continue
        for child in await walk.children(uri):
            if child in expanded or walk.spent:
                continue
            expanded.add(child)
            if walk.container.uris.is_local(child) or await walk.note(child) is not None:
                queue.append((child, depth + 1))


async def backfill_profile(container: Container, account: Account) -> Walk:
    """Store the public posts of the outbox's first page of a remote account (its recent ones)."""
    walk = Walk(container, Limits(posts=PROFILE_ITEMS, pages=PROFILE_PAGES))
    outbox = account.outbox_url
    if outbox is None or not same_origin(outbox, account.uri):
        return walk
    try:
        async with asyncio.timeout(walk.limits.seconds):
            seen_items = 0
            async for item in walk.items(outbox, max_pages=1):
                seen_items += 1
                if seen_items > PROFILE_ITEMS:
                    break
                target = await _public_create(walk, item, account)
                if target is not None:
                    await walk.note(target)
    except TimeoutError:
        log.info("profile backfill of %s stopped after %ss", account.uri, walk.limits.seconds)
    return walk


async def _public_create(walk: Walk, item: str | Mapping[str, Any], account: Account) -> str | None:
    """The object id of a public or unlisted `Create` by `account` (an outbox item, embedded or
    fetched by its id); None for anything else (boosts, other audiences)."""
    document: Mapping[str, Any] | None
    if isinstance(item, str):
        if not same_origin(item, account.uri):
            return None
        document = await walk._document(item)
    else:
        document = item
    if document is None or "Create" not in types(document):
        return None
    if first_id(document.get("actor")) != account.uri:
        return None
    audience = {first_id(value) for key in ("to", "cc") for value in _list(document.get(key))}
    if not audience & PUBLIC:
        return None
    return first_id(document.get("object"))


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value[:100]
    return [] if value is None else [value]


@handles(THREAD_JOB)
async def thread_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    container = ctx.container
    async with container.db.uow(write=False) as uow:
        root = await uow.session.get(Status, int(payload["status_id"]))
    if root is None or root.deleted_at is not None:
        return
    walk = await backfill_thread(container, root)
    log.info(
        "backfill of %s: %d posts read, %d stored, %d pages", root.uri, walk.posts, walk.stored, walk.pages
    )


@handles(PROFILE_JOB)
async def profile_job(ctx: JobContext, payload: dict[str, Any]) -> None:
    container = ctx.container
    async with container.db.uow(write=False) as uow:
        account = await uow.session.get(Account, int(payload["account_id"]))
    if account is None or account.domain is None or account.suspended_at is not None:
        return
    await backfill_profile(container, account)
