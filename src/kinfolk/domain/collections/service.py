"""Rules for collections: who may create, see, change and be featured in them.

As in Mastodon 4.6: anyone may read a collection unless its owner blocks them; an account's
listing shows only its discoverable collections to others; only the owner changes a collection;
an account may be featured only if it allows it (a local, discoverable account, with no block
between the two), and the featured account may revoke its inclusion. Remote accounts cannot be
featured yet: their consent would come over ActivityPub, which collections do not speak yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.profile import ValidationErrors
from kinfolk.domain.accounts.service import is_hidden
from kinfolk.domain.collections import repo
from kinfolk.domain.collections.models import (
    ACCEPTED,
    LIVE_STATES,
    REVOKED,
    Collection,
    CollectionItem,
)
from kinfolk.domain.instance.languages import is_known_language
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags import service as tags_service
from kinfolk.domain.tags.models import Tag
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Forbidden, KinfolkError, NotFound, Unprocessable
from kinfolk.kernel.ids import new_id

NAME_MAX = 40
DESCRIPTION_MAX = 100
MAX_ITEMS = 25
# Mastodon's roles carry this limit (`collection_limit`); every built-in role has 10.
COLLECTION_LIMIT = 10

T = TypeVar("T")


@dataclass(frozen=True)
class CollectionParams:
    """A create or update request; None means "not given" (left as it is, or the default)."""

    name: str | None = None
    description: str | None = None
    language: str | None = None
    tag_name: str | None = None
    sensitive: bool | None = None
    discoverable: bool | None = None
    account_ids: list[int] = field(default_factory=list)


@dataclass
class CollectionView:
    """A collection as one viewer sees it: its owner, tag and the items shown to that viewer."""

    collection: Collection
    owner: Account
    tag: Tag | None
    items: list[CollectionItem]


@dataclass
class OffsetPage(Generic[T]):
    items: list[T]
    offset: int
    limit: int
    has_more: bool


# -- reading ----------------------------------------------------------------------------------


async def _views(
    session: AsyncSession, collections: list[Collection], viewer_id: int | None
) -> list[CollectionView]:
    """Views of `collections` in a fixed number of queries, whatever their number."""
    if not collections:
        return []
    owners = await repo.accounts_with_users(session, list({c.account_id for c in collections}))
    items = await repo.visible_items(session, [c.id for c in collections], viewer_id)
    tag_ids = [c.tag_id for c in collections if c.tag_id is not None]
    tags = await tags_repo.tags_by_id(session, tag_ids) if tag_ids else {}
    return [
        CollectionView(
            collection=c,
            owner=owners[c.account_id][0],
            tag=tags.get(c.tag_id) if c.tag_id is not None else None,
            items=items.get(c.id, []),
        )
        for c in collections
    ]


async def _visible_account(session: AsyncSession, account_id: int) -> Account:
    """An account that exists for the outside: not an unapproved sign-up."""
    found = (await repo.accounts_with_users(session, [account_id])).get(account_id)
    if found is None:
        raise NotFound()
    account, user = found
    if account.is_local and (user is None or not user.approved):
        raise NotFound()
    return account


async def _get(session: AsyncSession, collection_id: int) -> Collection:
    found = await repo.get_collection(session, collection_id)
    if found is None:
        raise NotFound()
    return found


async def _seen_by(session: AsyncSession, collection_id: int, viewer_id: int | None) -> Collection:
    """A collection `viewer_id` may see: not one of a suspended or unapproved owner, nor of one
    who blocks the viewer. The others are not found, exactly as an id that names nothing."""
    collection = await _get(session, collection_id)
    owner = await _visible_account(session, collection.account_id)
    if owner.suspended_at is not None:
        raise NotFound()
    if viewer_id is not None and await repo.blocks(session, owner.id, viewer_id):
        raise NotFound()
    return collection


async def show(session: AsyncSession, collection_id: int, viewer_id: int | None) -> CollectionView:
    collection = await _seen_by(session, collection_id, viewer_id)
    return (await _views(session, [collection], viewer_id))[0]


async def featured_accounts(session: AsyncSession, view: CollectionView) -> list[Account]:
    """The accounts of the items `view` shows, in the items' order."""
    found = await repo.accounts_with_users(session, [item.account_id for item in view.items])
    return [found[item.account_id][0] for item in view.items if item.account_id in found]


async def account_collections(
    session: AsyncSession, account_id: int, viewer_id: int | None, *, offset: int, limit: int
) -> OffsetPage[CollectionView]:
    """An account's collections, newest first: all of them to the owner, discoverable ones to
    others, none to someone the owner blocks (an empty list, not an error, as Mastodon does)."""
    account = await _visible_account(session, account_id)
    if account.suspended_at is not None or (
        viewer_id is not None
        and viewer_id != account.id
        and await repo.blocks(session, account.id, viewer_id)
    ):
        return OffsetPage([], offset, limit, False)
    rows = await repo.collections_of(
        session, account.id, discoverable_only=viewer_id != account.id, offset=offset, limit=limit
    )
    views = await _views(session, rows[:limit], viewer_id)
    return OffsetPage(views, offset, limit, len(rows) > limit)


async def featuring(
    session: AsyncSession, account_id: int, viewer_id: int, *, offset: int, limit: int
) -> OffsetPage[CollectionView]:
    """The collections an account is featured in; only that account may ask."""
    account = await _visible_account(session, account_id)
    if account.id != viewer_id:
        raise Forbidden()
    rows = await repo.featuring(session, account.id, offset=offset, limit=limit)
    views = await _views(session, rows[:limit], viewer_id)
    return OffsetPage(views, offset, limit, len(rows) > limit)


# -- writing ----------------------------------------------------------------------------------


def _check_texts(params: CollectionParams, errors: ValidationErrors, *, creating: bool) -> None:
    if creating or params.name is not None:
        name = (params.name or "").strip()
        if not name:
            errors.add("name", "ERR_BLANK", "can't be blank")
        elif len(name) > NAME_MAX:
            errors.add("name", "ERR_TOO_LONG", f"is too long (maximum is {NAME_MAX} characters)")
    if params.description is not None and len(params.description) > DESCRIPTION_MAX:
        errors.add("description", "ERR_TOO_LONG", f"is too long (maximum is {DESCRIPTION_MAX} characters)")
    if params.language and not is_known_language(params.language.strip()):
        errors.add("language", "ERR_INVALID", "is invalid")


async def _tag_for(session: AsyncSession, raw: str | None, errors: ValidationErrors) -> Tag | None:
    """The tag named by `raw` (created if new); None for a blank name."""
    if raw is None or not raw.strip():
        return None
    try:
        name = tags_service.check_name(raw)
    except KinfolkError:
        errors.add("tag_name", "ERR_INVALID", "is invalid")
        return None
    tag = (await tags_repo.get_or_create_tags(session, [name]))[0]
    if not tag.usable:
        errors.add("tag_name", "ERR_INVALID", "is invalid")
        return None
    return tag


async def _featureable(session: AsyncSession, owner_id: int, account_ids: Sequence[int]) -> list[Account]:
    """The accounts to feature, in order; 404 if one does not exist, 403 if one may not be featured."""
    ids = list(dict.fromkeys(account_ids))
    found = await repo.accounts_with_users(session, ids)
    # An account awaiting approval is not found, like one that does not exist.
    missing = [i for i in ids if i not in found or is_hidden(*found[i])]
    if missing:
        raise NotFound()
    blocked = await repo.blocked_either_way(session, owner_id, ids)
    accounts = []
    for account_id in ids:
        account, user = found[account_id]
        allowed = (
            account.is_local
            and user is not None
            and user.approved
            and account.suspended_at is None
            and account.discoverable
            and account_id not in blocked
        )
        if not allowed:
            raise Forbidden()
        accounts.append(account)
    return accounts


def _new_item(collection_id: int, account: Account, position: int) -> CollectionItem:
    now = utcnow()
    return CollectionItem(
        collection_id=collection_id,
        account_id=account.id,
        state=ACCEPTED,  # a local account that allows featuring is in at once
        position=position,
        created_at=now,
        updated_at=now,
    )


async def create(uow: UnitOfWork, owner: Account, params: CollectionParams) -> CollectionView:
    session = uow.session
    errors = ValidationErrors()
    _check_texts(params, errors, creating=True)
    tag = await _tag_for(session, params.tag_name, errors)
    if len(set(params.account_ids)) > MAX_ITEMS:
        errors.add("collection_items", "ERR_TOO_LONG", f"is too long (maximum is {MAX_ITEMS} accounts)")
    errors.raise_if_any()
    if await repo.count_collections(session, owner.id) >= COLLECTION_LIMIT:
        raise Unprocessable("Validation failed: You have reached the maximum number of collections")
    featured = await _featureable(session, owner.id, params.account_ids)
    now = utcnow()
    collection = Collection(
        account_id=owner.id,
        name=(params.name or "").strip(),
        description=params.description,
        language=params.language.strip().lower() if params.language and params.language.strip() else None,
        tag_id=tag.id if tag is not None else None,
        sensitive=bool(params.sensitive),
        discoverable=bool(params.discoverable),
        local=True,
        item_count=len(featured),
        created_at=now,
        updated_at=now,
    )
    session.add(collection)
    await session.flush()
    for position, account in enumerate(featured, start=1):
        session.add(_new_item(collection.id, account, position))
    await session.flush()
    return (await _views(session, [collection], owner.id))[0]


async def _owned(session: AsyncSession, owner_id: int, collection_id: int) -> Collection:
    """The caller's own collection; someone else's is a 403 only if the caller may see it."""
    collection = await _seen_by(session, collection_id, owner_id)
    if collection.account_id != owner_id:
        raise Forbidden()
    return collection


async def update(
    uow: UnitOfWork, owner_id: int, collection_id: int, params: CollectionParams
) -> CollectionView:
    session = uow.session
    collection = await _owned(session, owner_id, collection_id)
    errors = ValidationErrors()
    _check_texts(params, errors, creating=False)
    tag = await _tag_for(session, params.tag_name, errors)
    errors.raise_if_any()
    if params.name is not None:
        collection.name = params.name.strip()
    if params.description is not None:
        collection.description = params.description
    if params.language is not None:
        collection.language = params.language.strip().lower() or None
    if params.tag_name is not None:
        collection.tag_id = tag.id if tag is not None else None
    if params.sensitive is not None:
        collection.sensitive = params.sensitive
    if params.discoverable is not None:
        collection.discoverable = params.discoverable
    collection.updated_at = utcnow()
    await session.flush()
    return (await _views(session, [collection], owner_id))[0]


async def delete(uow: UnitOfWork, owner_id: int, collection_id: int) -> None:
    collection = await _owned(uow.session, owner_id, collection_id)
    await repo.delete_collection(uow.session, collection.id)


async def add_item(uow: UnitOfWork, owner_id: int, collection_id: int, account_id: int) -> CollectionItem:
    session = uow.session
    collection = await _owned(session, owner_id, collection_id)
    (account,) = await _featureable(session, owner_id, [account_id])
    if await repo.count_live_items(session, collection.id) >= MAX_ITEMS:
        raise Unprocessable(
            f"Validation failed: Collection items is too long (maximum is {MAX_ITEMS} accounts)",
            details={
                "collection_items": [
                    {"error": "ERR_TOO_LONG", "description": f"is too long (maximum is {MAX_ITEMS} accounts)"}
                ]
            },
        )
    now = utcnow()
    item_id = new_id()
    inserted = await repo.insert_item(
        session,
        id=item_id,
        collection_id=collection.id,
        account_id=account.id,
        state=ACCEPTED,  # a local account that allows featuring is in at once
        position=await repo.next_position(session, collection.id),
        created_at=now,
        updated_at=now,
    )
    # One item per account and collection, whatever its state: a revoked inclusion is not
    # overridden by adding the account again.
    if not inserted:
        raise Unprocessable(
            "Validation failed: Account has already been taken",
            details={"account_id": [{"error": "ERR_TAKEN", "description": "has already been taken"}]},
        )
    await repo.add_to_item_count(session, collection.id, 1)
    item = await repo.get_item(session, collection.id, item_id)
    assert item is not None
    return item


async def remove_item(uow: UnitOfWork, owner_id: int, collection_id: int, item_id: int) -> None:
    session = uow.session
    collection = await _owned(session, owner_id, collection_id)
    item = await repo.get_item(session, collection.id, item_id)
    if item is None:
        raise NotFound()
    was_live = item.state in LIVE_STATES
    await repo.delete_item(session, item.id)
    if was_live:
        await repo.add_to_item_count(session, collection.id, -1)


async def revoke_item(uow: UnitOfWork, account_id: int, collection_id: int, item_id: int) -> None:
    """The featured account takes itself out of someone's collection."""
    session = uow.session
    collection = await _seen_by(session, collection_id, account_id)
    item = await repo.get_item(session, collection.id, item_id)
    if item is None:
        raise NotFound()
    if item.account_id != account_id:
        raise Forbidden()
    if item.state == REVOKED:
        return
    was_live = item.state in LIVE_STATES
    item.state = REVOKED
    item.updated_at = utcnow()
    await session.flush()
    if was_live:
        await repo.add_to_item_count(session, collection.id, -1)
