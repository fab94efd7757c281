"""Which streams hear about a status: called by the status jobs after fan-out, edits and deletes,
and by the notification service for each new notification.

As in Mastodon: `update` to each home feed and list that received the status; public posts
(not boosts) also to their hashtags' streams and, unless they reply to someone else, to the
public streams (`:local`/`:remote`, and `:media` variants when they carry media); `status.update`
wherever the status is shown when it is edited; `delete` wherever it was when it goes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.notifications.service import on_notification
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines import conversations, streams
from kinfolk.domain.timelines.fanout import FanOut, Removed
from kinfolk.domain.timelines.repo import feeds as repo
from kinfolk.text.compose import normalize_tag


async def _broadcast_channels(session: AsyncSession, status: Status, *, any_media: bool = False) -> list[str]:
    """The public and hashtag channels a status belongs on (none unless public and not a boost)."""
    if status.visibility != "public" or status.reblog_of_id is not None:
        return []
    shape = await repo.status_shape(session, status.id)
    if shape is None:
        return []
    _, tags, media = shape
    media = media or any_media
    channels = []
    for name in dict.fromkeys(normalize_tag(t) for t in tags):
        channels.append(streams.hashtag_channel(name))
        if status.local:
            channels.append(streams.hashtag_channel(name, local=True))
    replies_to_other = (
        status.in_reply_to_account_id is not None and status.in_reply_to_account_id != status.account_id
    )
    if not replies_to_other:
        for media_variant in (False, True) if media else (False,):
            channels.append(streams.public_channel(media=media_variant))
            channels.append(streams.public_channel(local=status.local, media=media_variant))
    return channels


def _feed_channels(home: list[int], lists: list[int]) -> list[str]:
    return [streams.home_channel(a) for a in home] + [streams.list_channel(i) for i in lists]


async def status_created(uow: UnitOfWork, status: Status, fanned: FanOut) -> None:
    channels = _feed_channels(fanned.home, fanned.lists)
    channels += await _broadcast_channels(uow.session, status)
    streams.emit(uow, channels, "update", status_id=str(status.id))
    await conversations.on_direct_status(uow, status)


def status_reached(uow: UnitOfWork, status: Status, home: list[int]) -> None:
    """A further slice of followers got the status: only their home streams hear of it."""
    streams.emit(uow, _feed_channels(home, []), "update", status_id=str(status.id))


async def status_updated(uow: UnitOfWork, status: Status) -> None:
    home, lists = await repo.feed_holders(uow.session, status.id)
    channels = _feed_channels(home, lists)
    channels += await _broadcast_channels(uow.session, status)
    streams.emit(uow, channels, "status.update", status_id=str(status.id))


async def status_removed(uow: UnitOfWork, status: Status | None, removed: Removed) -> None:
    """`delete` carries only the id, as a bare string payload in Mastodon."""
    if status is None:
        return
    channels = _feed_channels(removed.home, removed.lists)
    # Media are detached when a status is deleted; tell the media streams whatever it held.
    channels += await _broadcast_channels(uow.session, status, any_media=True)
    streams.emit(uow, channels, "delete", status_id=str(status.id))
    await conversations.on_status_removed(uow, status)


@on_notification
async def _notification_created(uow: UnitOfWork, notification: Notification) -> None:
    streams.emit(
        uow,
        [streams.notifications_channel(notification.account_id)],
        "notification",
        notification_id=str(notification.id),
    )
