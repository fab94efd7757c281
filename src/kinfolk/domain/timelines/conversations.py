"""Direct conversations (`/api/v1/conversations`): one row per thread and participant.

As in Mastodon, the author's row is kept when a direct status is distributed, and a recipient's
row when the mention notification is actually created, so that someone who blocked or muted the
sender gets no conversation either. A row is unread for recipients and read for the one who
wrote its last status. Each change tells the participant's `direct` stream.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.notifications.service import on_notification
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines import streams
from kinfolk.domain.timelines.models import AccountConversation
from kinfolk.domain.timelines.repo import conversations as repo
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound
from kinfolk.kernel.paging import Page


def _is_direct(status: Status) -> bool:
    return (
        status.visibility == "direct" and status.reblog_of_id is None and status.conversation_id is not None
    )


async def add_status(uow: UnitOfWork, account_id: int, status: Status) -> AccountConversation | None:
    """Record `status` in `account_id`'s view of its conversation."""
    if not _is_direct(status) or status.deleted_at is not None:
        return None
    assert status.conversation_id is not None
    session = uow.session
    others = set(await repo.mentioned(session, status.id)) | {status.account_id}
    others.discard(account_id)
    row = await repo.locked_row(session, account_id, status.conversation_id)
    row.participant_account_ids = sorted(set(row.participant_account_ids or []) | others)
    if row.last_status_id is None or status.id > row.last_status_id:
        row.last_status_id = status.id
        row.unread = status.account_id != account_id
    row.updated_at = utcnow()
    await session.flush()
    streams.emit(uow, [streams.direct_channel(account_id)], "conversation", conversation_id=str(row.id))
    return row


async def on_direct_status(uow: UnitOfWork, status: Status) -> None:
    """The author's side, when the status is distributed (recipients follow their notification)."""
    if _is_direct(status) and await repo.local_accounts(uow.session, [status.account_id]):
        await add_status(uow, status.account_id, status)


@on_notification
async def _mention_notified(uow: UnitOfWork, notification: Notification) -> None:
    if notification.type != "mention" or notification.status_id is None:
        return
    status = await uow.session.get(Status, notification.status_id)
    if status is not None and _is_direct(status):
        await add_status(uow, notification.account_id, status)


async def on_status_removed(uow: UnitOfWork, status: Status) -> None:
    """A direct status was deleted: its participants' rows fall back to the previous status, or
    go when nothing is left."""
    if not _is_direct(status):
        return
    assert status.conversation_id is not None
    session = uow.session
    participants = set(await repo.mentioned(session, status.id)) | {status.account_id}
    for row in await repo.rows_for(session, status.conversation_id, sorted(participants)):
        if row.last_status_id != status.id:
            continue
        latest = await repo.latest_direct_status(session, status.conversation_id, row.account_id)
        if latest is None:
            await repo.delete_row(session, row.id)
            continue
        row.last_status_id = latest
        row.updated_at = utcnow()
        streams.emit(
            uow, [streams.direct_channel(row.account_id)], "conversation", conversation_id=str(row.id)
        )
    await session.flush()


async def page_of(session: AsyncSession, account_id: int, page: Page) -> list[AccountConversation]:
    return await repo.page_of(session, account_id, page)


async def get(session: AsyncSession, account_id: int, row_id: int) -> AccountConversation:
    row = await repo.get_row(session, account_id, row_id)
    if row is None or row.last_status_id is None:
        raise NotFound()
    return row


async def mark_read(uow: UnitOfWork, account_id: int, row_id: int) -> AccountConversation:
    row = await get(uow.session, account_id, row_id)
    if row.unread:
        row.unread = False
        await uow.session.flush()
    return row


async def remove(uow: UnitOfWork, account_id: int, row_id: int) -> None:
    row = await get(uow.session, account_id, row_id)
    await repo.delete_row(uow.session, row.id)
