"""Mastodon's Collection, CollectionItem and CollectionWithAccounts entities (4.6, keys in
Mastodon's order). Listings are wrapped in an object: `{"collections": [...]}`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.collections.models import CollectionItem
from kinfolk.domain.collections.service import CollectionView
from kinfolk.kernel.clock import iso
from kinfolk.kernel.uris import Uris


def item_json(item: CollectionItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "state": item.state,
        "created_at": iso(item.created_at),
        "account_id": str(item.account_id),
    }


def collection_json(view: CollectionView, uris: Uris) -> dict[str, Any]:
    collection = view.collection
    uri = collection.uri or uris.collection(view.owner.username, collection.id)
    url = collection.url if not collection.local else uris.collection_page(collection.id)
    tag = view.tag
    return {
        "id": str(collection.id),
        "uri": uri,
        "name": collection.name,
        "description": collection.description,
        "language": collection.language,
        "account_id": str(collection.account_id),
        "local": collection.local,
        "sensitive": collection.sensitive,
        "discoverable": collection.discoverable,
        "url": url,
        "item_count": collection.item_count,
        "created_at": iso(collection.created_at),
        "updated_at": iso(collection.updated_at),
        "tag": {"name": tag.display_name, "url": uris.tag(tag.name)} if tag is not None else None,
        "items": [item_json(item) for item in view.items],
    }


def render_collections(views: list[CollectionView], uris: Uris) -> dict[str, Any]:
    return {"collections": [collection_json(v, uris) for v in views]}


async def render_with_accounts(
    session: AsyncSession, view: CollectionView, featured: list[Account], container: Container
) -> dict[str, Any]:
    """The collection and its accounts: the owner first, then each featured account shown."""
    accounts = await render_accounts(session, [view.owner, *featured], container)
    return {"collection": collection_json(view, container.uris), "accounts": accounts}
