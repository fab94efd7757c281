"""Deleting a whole account: everything of it goes, as Mastodon's DeleteAccountService.

One home for both ways an account ends: a local owner's deletion (`kinfolk accounts delete`,
`delete_local_account`) and a remote actor's `Delete` of itself (`delete_remote_account`).

- **At once**, in the caller's unit of work, the account becomes invisible: `suspended_at` (which
  every listing, the visibility policy and the token check already honour) and `deleted_at`
  (which makes the API, WebFinger and the actor answer as for an account that is gone). A local
  account also loses its tokens, push subscriptions and user row (so its e-mail address is free
  again), and publishes its actor `Delete`, planned before any follow is removed.
- **Then in bounded units** (`purge`, at most `BATCH` rows per transaction, run by the
  `accounts.purge` job that enqueues itself until nothing is left): its statuses and boosts
  (through the statuses service, so counters, feeds, streams and media files follow), follows
  both ways (through the relationships service: the other side's counters and feeds), follow
  requests, favourites (the favourited statuses' counters), bookmarks, pins, mutes and blocks
  both ways, notes, list memberships and its lists, filters, followed and featured tags, poll
  votes, notifications it caused or received, conversations, markers, scheduled statuses and
  media. Finally the profile is emptied and its counters zeroed.

The row itself stays: the username stays taken (Mastodon reserves it), later activities signed
by a deleted remote actor find an account that is gone, and a local account keeps its private
key so that its `Delete` can still be signed while it is delivered (as Mastodon keeps it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.collections.models import Collection, CollectionItem
from kinfolk.domain.filters.models import Filter
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.notifications.models import (
    Notification,
    NotificationPermission,
    NotificationPolicy,
    NotificationRequest,
    PushSubscription,
)
from kinfolk.domain.oauth.models import AccessToken, AuthorizationCode
from kinfolk.domain.polls.models import PollVote
from kinfolk.domain.relationships.models import (
    AccountDomainBlock,
    AccountNote,
    AccountPin,
    Block,
    Follow,
    FollowRequest,
    Mute,
)
from kinfolk.domain.relationships.service import sever_follow
from kinfolk.domain.statuses import repo as statuses_repo
from kinfolk.domain.statuses.models import (
    Bookmark,
    ConversationMute,
    Favourite,
    IdempotencyKey,
    ScheduledStatus,
    Status,
    StatusPin,
)
from kinfolk.domain.statuses.service import delete_status, remove_boost
from kinfolk.domain.suggestions.models import SuggestionDismissal
from kinfolk.domain.tags.models import FeaturedTag, TagFollow
from kinfolk.domain.timelines.models import AccountConversation, HomeFeedEntry, List, ListAccount, Marker
from kinfolk.kernel.clock import utcnow

PURGE = "accounts.purge"

BATCH = 200
"""Rows one unit of work removes at most: a status costs a handful of statements (counters,
boosts, feeds job), so a transaction stays short whatever the account's size."""

MAX_REACH_INBOXES = 5_000
"""Inboxes of the account's followers and followed accounts kept in the `Delete`'s payload
(distinct servers, shared inboxes first); any further one still gets it with every known inbox."""


async def mark_deleted(uow: UnitOfWork, account: Account) -> Account | None:
    """Make the account invisible at once; the row of this unit of work's session, or None when
    it was deleted already (deleting twice does nothing more)."""
    # `account` may come from another session (the inbox's): the change goes to this one's row.
    row = await uow.session.get(Account, account.id)
    if row is None or row.deleted_at is not None:
        return None
    now = utcnow()
    row.suspended_at = row.suspended_at or now
    row.deleted_at = now
    await uow.session.flush()
    return row


async def delete_local_account(uow: UnitOfWork, account: Account) -> bool:
    """A local owner deletes their account (Mastodon's self-deletion, name reserved).

    Its tokens and push subscriptions stop working in this transaction; its actor `Delete`
    is published before any follow goes, with the inboxes it must reach first; the rest is
    purged by jobs. False when the account was deleted already.
    """
    session = uow.session
    row = await mark_deleted(uow, account)
    if row is None or not row.is_local:
        return False
    user_ids = select(User.id).where(User.account_id == row.id).scalar_subquery()
    await session.execute(delete(PushSubscription).where(PushSubscription.account_id == row.id))
    await session.execute(delete(AccessToken).where(AccessToken.user_id == user_ids))
    await session.execute(delete(AuthorizationCode).where(AuthorizationCode.user_id == user_ids))
    await session.execute(delete(User).where(User.account_id == row.id))
    inboxes = await outbox.reach_inboxes(session, row.id, MAX_REACH_INBOXES)
    await outbox.publish(uow, "Delete", {"object_type": "Person", "account_id": row.id, "inboxes": inboxes})
    await uow.enqueue(PURGE, {"account_id": row.id})
    return True


async def delete_remote_account(uow: UnitOfWork, account: Account) -> bool:
    """A remote actor deleted itself: everything of it goes. Its key goes at once (nothing it
    signs later is believed); a small account is purged in this unit of work, a large one
    continues in jobs. False when it was deleted already."""
    row = await mark_deleted(uow, account)
    if row is None or row.is_local:
        return False
    row.public_key_pem = ""
    if await purge(uow, row.id):
        await uow.enqueue(PURGE, {"account_id": row.id})
    return True


# --- purging, in bounded units -------------------------------------------------------------------


async def _statuses(uow: UnitOfWork, account: Account, limit: int) -> int:
    rows = list(
        (
            await uow.session.execute(
                select(Status)
                .where(Status.account_id == account.id, Status.deleted_at.is_(None))
                .order_by(Status.id)
                .limit(limit)
            )
        ).scalars()
    )
    for status in rows:
        if status.reblog_of_id is not None:
            await remove_boost(uow, status)
        elif status.deleted_at is None:  # not gone already as the boost of one deleted before
            await delete_status(uow, account, status.id, delete_media=True, federate=False)
    return len(rows)


async def _follows(uow: UnitOfWork, account: Account, limit: int) -> int:
    rows = (
        await uow.session.execute(
            select(Follow.account_id, Follow.target_account_id)
            .where(or_(Follow.account_id == account.id, Follow.target_account_id == account.id))
            .limit(limit)
        )
    ).all()
    for follower_id, followee_id in rows:
        await sever_follow(uow, follower_id, followee_id)
    return len(rows)


async def _favourites(uow: UnitOfWork, account: Account, limit: int) -> int:
    session = uow.session
    rows = (
        await session.execute(
            select(Favourite.id, Favourite.status_id).where(Favourite.account_id == account.id).limit(limit)
        )
    ).all()
    if rows:
        await session.execute(
            delete(Favourite)
            .where(Favourite.id.in_([row[0] for row in rows]))
            .execution_options(synchronize_session=False)
        )
        for _, status_id in rows:
            await statuses_repo.bump_status_stat(session, status_id, "favourites_count", -1)
    return len(rows)


async def _media(uow: UnitOfWork, account: Account, limit: int) -> int:
    """Media not attached to a status any more (or never): the rows, and their files by a job."""
    session = uow.session
    media = list(
        (
            await session.execute(
                select(MediaAttachment).where(MediaAttachment.account_id == account.id).limit(limit)
            )
        ).scalars()
    )
    keys = [k for m in media for k in (m.file_key, m.preview_key, m.thumbnail_key, m.original_key) if k]
    for item in media:
        await session.delete(item)
    if keys:
        await uow.enqueue("media.remove_files", {"keys": keys})
    await session.flush()
    return len(media)


def _by_id(model: Any, condition: ColumnElement[bool]) -> Any:
    """A step deleting at most `limit` rows of `model` matching `condition`, by their ids."""

    async def step(uow: UnitOfWork, account: Account, limit: int) -> int:
        ids = list((await uow.session.execute(select(model.id).where(condition).limit(limit))).scalars())
        if ids:
            await uow.session.execute(
                delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
            )
        return len(ids)

    return step


def _both(model: Any, account_id: int) -> ColumnElement[bool]:
    return or_(model.account_id == account_id, model.target_account_id == account_id)


def _steps(account_id: int) -> list[Any]:
    """What goes, in order: statuses before follows (their removal from feeds is per status),
    then each kind of row in bounded deletes."""
    mine = account_id
    return [
        _statuses,
        _follows,
        _by_id(FollowRequest, _both(FollowRequest, mine)),
        _favourites,
        _by_id(Bookmark, Bookmark.account_id == mine),
        _by_id(StatusPin, StatusPin.account_id == mine),
        _by_id(ConversationMute, ConversationMute.account_id == mine),
        _by_id(Block, _both(Block, mine)),
        _by_id(Mute, _both(Mute, mine)),
        _by_id(AccountNote, _both(AccountNote, mine)),
        _by_id(AccountPin, _both(AccountPin, mine)),
        _by_id(AccountDomainBlock, AccountDomainBlock.account_id == mine),
        _by_id(SuggestionDismissal, _both(SuggestionDismissal, mine)),
        _by_id(List, List.account_id == mine),  # their members and feeds go by the foreign key
        _by_id(Filter, Filter.account_id == mine),  # keywords and statuses by the foreign key
        _by_id(TagFollow, TagFollow.account_id == mine),
        _by_id(FeaturedTag, FeaturedTag.account_id == mine),
        _by_id(PollVote, PollVote.account_id == mine),
        _by_id(Notification, or_(Notification.account_id == mine, Notification.from_account_id == mine)),
        _by_id(
            NotificationRequest,
            or_(NotificationRequest.account_id == mine, NotificationRequest.from_account_id == mine),
        ),
        _by_id(AccountConversation, AccountConversation.account_id == mine),
        _by_id(ScheduledStatus, ScheduledStatus.account_id == mine),
        _by_id(IdempotencyKey, IdempotencyKey.account_id == mine),
        _by_id(CollectionItem, CollectionItem.account_id == mine),
        _by_id(Collection, Collection.account_id == mine),
        _by_id(PushSubscription, PushSubscription.account_id == mine),
        _media,
    ]


async def _finish(uow: UnitOfWork, account: Account) -> None:
    """The rows keyed by the account alone (few by nature), then the emptied profile."""
    session = uow.session
    mine = account.id
    await session.execute(delete(HomeFeedEntry).where(HomeFeedEntry.account_id == mine))
    await session.execute(delete(ListAccount).where(ListAccount.account_id == mine))
    await session.execute(delete(Marker).where(Marker.account_id == mine))
    await session.execute(delete(NotificationPolicy).where(NotificationPolicy.account_id == mine))
    await session.execute(
        delete(NotificationPermission).where(
            or_(NotificationPermission.account_id == mine, NotificationPermission.from_account_id == mine)
        )
    )
    files = [key for key in (account.avatar_key, account.header_key) if key]
    if files:
        await uow.enqueue("media.remove_files", {"keys": files})
    account.display_name = ""
    account.note = account.note_source = ""
    account.fields = []
    account.avatar_key = account.header_key = None
    account.avatar_remote_url = account.header_remote_url = None
    account.avatar_description = account.header_description = ""
    account.locked = account.discoverable = account.indexable = False
    account.also_known_as = []
    account.moved_to_uri = None
    await session.execute(
        update(AccountStats)
        .where(AccountStats.account_id == mine)
        .values(statuses_count=0, followers_count=0, following_count=0)
    )
    await session.flush()


async def purge(uow: UnitOfWork, account_id: int, limit: int | None = None) -> bool:
    """Remove up to `limit` (`BATCH`) rows of a deleted account; True while more remains (the
    caller runs it again in a new unit of work), False once all is gone."""
    account = await uow.session.get(Account, account_id)
    if account is None or account.deleted_at is None:
        return False
    budget = limit or BATCH
    for step in _steps(account.id):
        budget -= await step(uow, account, budget)
        if budget <= 0:
            return True
    await _finish(uow, account)
    return False
