"""Collections: outbox, followers, following (paged), featured posts and featured tags.

Paged collections are an `OrderedCollection` that names its size and its `first` page; each
`OrderedCollectionPage` names `next` (older items) and `prev` (newer ones) by id cursors
(`max_id`/`min_id`), so a page is one index range however deep the walk goes, and an item
added during the walk never shifts the pages after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kinfolk.domain.tags.models import Tag
from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import RenderEnv

PAGE_SIZE = 20


@dataclass(frozen=True)
class PageCursor:
    """Where a page starts: below `max_id` (walking back) or above `min_id` (walking forward)."""

    max_id: int | None = None
    min_id: int | None = None


def page_url(collection: str, *, max_id: int | None = None, min_id: int | None = None) -> str:
    query: dict[str, str] = {"page": "true"}
    if max_id is not None:
        query["max_id"] = str(max_id)
    if min_id is not None:
        query["min_id"] = str(min_id)
    return f"{collection}?{urlencode(query)}"


def render_collection(collection: str, total: int | None, *, paged: bool = True) -> dict[str, Any]:
    """The collection itself; `total` None hides the count, `paged` False hides the items."""
    document: dict[str, Any] = {"id": collection, "type": "OrderedCollection"}
    if total is not None:
        document["totalItems"] = total
    if paged:
        document["first"] = page_url(collection)
    return with_context(document)


def render_page(
    collection: str,
    cursor: PageCursor,
    items: Sequence[Any],
    item_ids: Sequence[int],
    *,
    has_more: bool,
) -> dict[str, Any]:
    """One page of `items` (newest first), whose sort keys are `item_ids` in the same order.

    `has_more` says whether the query found items beyond this page in the walking direction:
    older ones for a first or `max_id` page, newer ones for a `min_id` page.
    """
    walking_forward = cursor.min_id is not None and cursor.max_id is None
    document: dict[str, Any] = {
        "id": page_url(collection, max_id=cursor.max_id, min_id=cursor.min_id),
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": list(items),
    }
    if item_ids:
        older = (not walking_forward and has_more) or walking_forward
        newer = (walking_forward and has_more) or (not walking_forward and cursor.max_id is not None)
        if older:
            document["next"] = page_url(collection, max_id=item_ids[-1])
        if newer:
            document["prev"] = page_url(collection, min_id=item_ids[0])
    return with_context(document)


def render_featured(collection: str, notes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pinned statuses, embedded whole as Mastodon does (there are at most a handful)."""
    return with_context(
        {"id": collection, "type": "OrderedCollection", "totalItems": len(notes), "orderedItems": list(notes)}
    )


def render_featured_tags(env: RenderEnv, collection: str, tags: Sequence[Tag]) -> dict[str, Any]:
    items = [
        {"type": "Hashtag", "href": env.uris.tag(t.name), "name": f"#{t.display_name or t.name}"}
        for t in tags
    ]
    return with_context({"id": collection, "type": "Collection", "totalItems": len(items), "items": items})
