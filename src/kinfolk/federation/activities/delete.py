"""`Delete` of a post (or its `Tombstone`) or of an actor.

A post goes only by its author's `Delete` (checklist 25); its id is kept as a tombstone so that
a `Create` delivered after the `Delete` stores nothing (checklist 79). An id not stored yet is
tombstoned too, when it is on the actor's origin (nobody can bury another server's posts).
An actor deletes only itself; then everything of it goes, as Mastodon does: its statuses,
its follows both ways and pending requests, the notifications it caused; the row stays
suspended, so later activities signed with its key find an account that is gone.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.domain.relationships.service import remove_from_followers, unfollow
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.domain.statuses.service import delete_status
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import same_origin
from kinfolk.kernel.clock import utcnow


@handles_activity("Delete")
async def on_delete(ctx: IngressContext, activity: ParsedActivity) -> None:
    actor = ctx.actor
    target = activity.object_id
    if actor.uri is None or target is None:
        return
    uow = ctx.job.uow
    if target == actor.uri:
        await remove_actor(uow, actor)
        return
    status = (await uow.session.execute(select(Status).where(Status.uri == target))).scalar_one_or_none()
    if status is not None:
        if status.account_id != actor.id or status.local:
            return
        if status.deleted_at is None:
            await delete_status(uow, actor, status.id)
    elif not same_origin(target, actor.uri):
        return
    await tombstone(uow, target, actor.id)


async def tombstone(uow: UnitOfWork, uri: str, account_id: int | None) -> None:
    if await uow.session.get(Tombstone, uri) is None:
        uow.session.add(Tombstone(uri=uri, account_id=account_id))
        await uow.session.flush()


async def remove_actor(uow: UnitOfWork, account: Account) -> None:
    """Everything of a remote actor that deleted itself goes; the row stays, suspended."""
    if account.domain is None:
        return
    session = uow.session
    statuses = (
        await session.execute(
            select(Status.id).where(
                Status.account_id == account.id, Status.deleted_at.is_(None), Status.reblog_of_id.is_(None)
            )
        )
    ).scalars()
    for status_id in list(statuses):
        await delete_status(uow, account, status_id)
    # Follows with our accounts end through the domain, so counters and feeds follow.
    rows = (
        await session.execute(
            select(Follow.account_id, Follow.target_account_id).where(
                or_(Follow.account_id == account.id, Follow.target_account_id == account.id)
            )
        )
    ).all()
    others = {follower if target == account.id else target for follower, target in rows}
    local = {
        a.id: a
        for a in (
            await session.execute(select(Account).where(Account.id.in_(others), Account.domain.is_(None)))
        ).scalars()
    }
    for follower, target in rows:
        if target == account.id and follower in local:
            await unfollow(uow, local[follower], account.id)
        elif follower == account.id and target in local:
            await remove_from_followers(uow, local[target], account.id)
    await session.execute(
        delete(Follow).where(or_(Follow.account_id == account.id, Follow.target_account_id == account.id))
    )
    await session.execute(
        delete(FollowRequest).where(
            or_(FollowRequest.account_id == account.id, FollowRequest.target_account_id == account.id)
        )
    )
    await session.execute(delete(Notification).where(Notification.from_account_id == account.id))
    # `account` may come from another session (the inbox's): the change goes to this one's row.
    row = await session.get(Account, account.id)
    if row is not None:
        row.suspended_at = row.suspended_at or utcnow()
        row.public_key_pem = ""
    await session.flush()
