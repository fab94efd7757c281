"""Collections and their pages (followers, outbox, featured, replies), one page at a time.

Nothing here follows `first` or `next`: the fetcher decides how many pages to read (security
checklist 46). An embedded first page is parsed one level deep, never further. Items are kept as
they came, an id or an embedded object, up to `MAX_ITEMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kinfolk.federation.parse.values import (
    ParseError,
    as_list,
    count,
    first_id,
    first_type,
    https_url,
)

COLLECTION_TYPES = ("Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage")
MAX_ITEMS = 1_000


@dataclass(frozen=True, slots=True)
class ParsedCollection:
    id: str | None
    """Always set for a fetched collection; an embedded first page may have none (Mastodon's)."""
    type: str
    total_items: int | None = None
    items: tuple[str | Mapping[str, Any], ...] = ()
    """`orderedItems` or `items`: each an id, or the embedded object (which must be parsed)."""
    first: str | None = None
    first_page: ParsedCollection | None = None
    """The first page when it is embedded (Mastodon, Pleroma do so)."""
    next: str | None = None
    part_of: str | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        """The ids of the items, embedded or not; items without a usable id are left out."""
        found = (first_id(item) for item in self.items)
        return tuple(item for item in found if item is not None)


def is_collection(doc: Mapping[str, Any]) -> bool:
    return first_type(doc, COLLECTION_TYPES) is not None


def parse_collection(doc: object) -> ParsedCollection:
    """A collection or collection page; `ParseError` when it has no id or is not a collection."""
    return _parse(doc, embedded=False)


def _parse(doc: object, *, embedded: bool) -> ParsedCollection:
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    kind = first_type(doc, COLLECTION_TYPES)
    if kind is None:
        raise ParseError("not a collection type")
    collection_id = https_url(doc.get("id"))
    if collection_id is None and not embedded:
        raise ParseError("the collection has no http(s) id")
    raw_items = doc.get("orderedItems")
    if raw_items is None:
        raw_items = doc.get("items")
    items: list[str | Mapping[str, Any]] = []
    for item in as_list(raw_items, MAX_ITEMS):
        if isinstance(item, Mapping):
            items.append(item)
        else:
            url = https_url(item)
            if url is not None:
                items.append(url)
    first = doc.get("first")
    first_page: ParsedCollection | None = None
    if isinstance(first, Mapping) and not embedded:
        try:
            first_page = _parse(first, embedded=True)
        except ParseError:
            first_page = None
    return ParsedCollection(
        id=collection_id,
        type=kind,
        total_items=count(doc.get("totalItems")),
        items=tuple(items),
        first=first_id(first),
        first_page=first_page,
        next=first_id(doc.get("next")),
        part_of=first_id(doc.get("partOf")),
    )
