"""A remote actor's pinned posts (`featured`) and featured hashtags (`featuredTags`).

When an actor is stored with either collection, `dereference` queues `federation.fetch_featured`
(once a day per account at most). The job reads the first page of each collection, up to
`MAX_ITEMS` entries (no further page is followed, checklist 46), network first: the posts are
fetched and stored through the one store (`dereference.fetch_collection_note`), then one write
in the job's unit of work makes the account's pins and featured tags what the collections list
now, as Mastodon's featured collection fetches do. Between two reads, the actor's `Add` and
`Remove` activities keep them current (`activities/featured.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses import interactions
from kinfolk.domain.tags import service as tags
from kinfolk.federation import dereference
from kinfolk.federation.parse.collection import ParsedCollection, parse_collection
from kinfolk.federation.parse.values import ParseError, same_origin, text, types
from kinfolk.infra.fetch import FetchError
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger(__name__)

FETCH_FEATURED = dereference.FETCH_FEATURED
MAX_ITEMS = 20


async def collection_items(container: Container, url: str) -> list[str | Mapping[str, Any]] | None:
    """The first `MAX_ITEMS` entries of a collection: its own items, else those of its first
    page (embedded, or one more GET on the same origin). None when it cannot be read."""
    try:
        collection = parse_collection(await dereference.get_signed(container, url))
        items = _items(collection)
        if items is None and collection.first is not None and same_origin(collection.first, url):
            items = _items(parse_collection(await dereference.get_signed(container, collection.first))) or ()
    except (FetchError, ParseError) as exc:
        log.info("collection %s not read: %s", url, exc)
        return None
    return list((items or [])[:MAX_ITEMS])


def _items(collection: ParsedCollection) -> tuple[str | Mapping[str, Any], ...] | None:
    if collection.items:
        return collection.items
    if collection.first_page is not None:
        return collection.first_page.items
    return None if collection.first is not None else ()


def hashtag_name(item: object) -> str | None:
    """The name of a `Hashtag` entry (`#tag` or `tag`), None for anything else."""
    if not isinstance(item, Mapping) or "Hashtag" not in types(item):
        return None
    return text(item.get("name"), 300)


@handles(FETCH_FEATURED)
async def fetch_featured(ctx: JobContext, payload: dict[str, Any]) -> None:
    account_id = payload.get("account_id")
    if not isinstance(account_id, int):
        raise PermanentJobError("payload has no account_id")
    container = ctx.container
    async with container.db.uow(write=False) as read:
        account = await read.session.get(Account, account_id)
    if account is None or account.domain is None or account.suspended_at is not None:
        return
    pinned: list[int] | None = None
    if account.featured_url:
        items = await collection_items(container, account.featured_url)
        if items is not None:
            pinned = []
            for item in items:
                status = await dereference.fetch_collection_note(container, item, account)
                if status is not None and status.account_id == account.id:
                    pinned.append(status.id)
    names: list[str] | None = None
    if account.featured_tags_url:
        items = await collection_items(container, account.featured_tags_url)
        if items is not None:
            names = [name for name in map(hashtag_name, items) if name]
    # The network is done: one write.
    account = await ctx.uow.session.get(Account, account_id)
    if account is None:
        return
    if pinned is not None:
        await interactions.set_remote_pins(ctx.uow, account, pinned)
    if names is not None:
        await tags.set_remote_featured(ctx.uow, account, names)
