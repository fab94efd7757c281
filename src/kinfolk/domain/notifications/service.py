"""Creating notifications: who gets one, and how they group (Mastodon 4.3's grouped notifications).

Everything that notifies (mentions, follows, favourites, boosts, polls, edits, sign-ups) calls
`notify`, inside the unit of work of the job or request that caused it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.relationships.models import AccountDomainBlock, Block, Mute
from kinfolk.domain.statuses.models import ConversationMute, Status
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

GROUPABLE = ("favourite", "reblog", "follow")
MAX_GROUP_SPAN = timedelta(hours=12)
# Types that a notification about one's own action may still produce.
SELF_ALLOWED = ("poll",)

# Called after a notification row is added (streaming, push); registered by those areas.
NotificationListener = Callable[[UnitOfWork, Notification], Awaitable[None]]
_listeners: list[NotificationListener] = []


def on_notification(listener: NotificationListener) -> NotificationListener:
    _listeners.append(listener)
    return listener


async def _suppressed(
    session: AsyncSession, recipient_id: int, from_account: Account, status: Status | None, type_: str
) -> bool:
    now = utcnow()
    blocked = exists().where(
        or_(
            (Block.account_id == recipient_id) & (Block.target_account_id == from_account.id),
            (Block.account_id == from_account.id) & (Block.target_account_id == recipient_id),
        )
    )
    muted = exists().where(
        Mute.account_id == recipient_id,
        Mute.target_account_id == from_account.id,
        Mute.hide_notifications.is_(True),
        or_(Mute.expires_at.is_(None), Mute.expires_at > now),
    )
    domain_blocked = (
        exists().where(
            AccountDomainBlock.account_id == recipient_id, AccountDomainBlock.domain == from_account.domain
        )
        if from_account.domain
        else None
    )
    thread_muted = (
        exists().where(
            ConversationMute.account_id == recipient_id,
            ConversationMute.conversation_id == status.conversation_id,
        )
        if status is not None
        and status.conversation_id is not None
        and type_ in ("mention", "status", "update")
        else None
    )
    checks = [blocked, muted] + [c for c in (domain_blocked, thread_muted) if c is not None]
    row = (await session.execute(select(*checks))).one()
    return any(bool(v) for v in row)


async def _group_key(
    session: AsyncSession, recipient_id: int, type_: str, status_id: int | None, notification_id: int
) -> str:
    if type_ not in GROUPABLE:
        return f"ungrouped-{notification_id}"
    prefix = f"{type_}-{status_id}" if type_ in ("favourite", "reblog") else type_
    now = utcnow()
    bucket = int(now.timestamp()) // 3600
    previous = (
        await session.execute(
            select(Notification.group_key, Notification.created_at)
            .where(Notification.account_id == recipient_id, Notification.group_key.like(f"{prefix}-%"))
            .order_by(Notification.id.desc())
            .limit(1)
        )
    ).first()
    if previous is not None:
        previous_bucket = int(previous[0].rsplit("-", 1)[1])
        if bucket < previous_bucket + int(MAX_GROUP_SPAN.total_seconds() // 3600):
            bucket = previous_bucket
    return f"{prefix}-{bucket}"


async def notify(
    uow: UnitOfWork,
    *,
    type: str,
    recipient_id: int,
    from_account_id: int,
    status_id: int | None = None,
) -> Notification | None:
    """Add a notification unless the recipient is remote, is the actor, or has silenced the actor."""
    session = uow.session
    if recipient_id == from_account_id and type not in SELF_ALLOWED:
        return None
    is_local_user = (await session.execute(select(User.id).where(User.account_id == recipient_id))).first()
    if is_local_user is None:
        return None
    from_account = await session.get(Account, from_account_id)
    if from_account is None:
        return None
    status = await session.get(Status, status_id) if status_id is not None else None
    if recipient_id != from_account_id and await _suppressed(
        session, recipient_id, from_account, status, type
    ):
        return None
    notification_id = new_id()
    notification = Notification(
        id=notification_id,
        account_id=recipient_id,
        from_account_id=from_account_id,
        type=type,
        status_id=status_id,
        group_key=await _group_key(session, recipient_id, type, status_id, notification_id),
    )
    session.add(notification)
    await session.flush()
    for listener in _listeners:
        await listener(uow, notification)
    return notification
