"""Side effects of posting, editing and deleting, run by the worker after the write committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, select

from kinfolk.db.prepared import Prepared, run_in
from kinfolk.domain import outbox
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.cards import service as cards
from kinfolk.domain.notifications.service import notify
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses import repo
from kinfolk.domain.statuses.models import Favourite, Mention, Status
from kinfolk.domain.statuses.scheduled import publish_due
from kinfolk.domain.timelines import distribution
from kinfolk.domain.timelines.fanout import fan_out, fan_out_slice, remove_from_feeds
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import handles
from kinfolk.jobs.scheduler import periodic

FAN_OUT_SLICE = "statuses.fan_out_slice"

# Built once: every post asks both.
_MENTIONED = Prepared(
    select(Mention.account_id)
    .where(Mention.status_id == bindparam("status_id", type_=BigInteger()))
    .order_by(Mention.id)
)
_SUBSCRIBERS = Prepared(
    select(Follow.account_id).where(
        Follow.target_account_id == bindparam("account_id", type_=BigInteger()), Follow.notify.is_(True)
    )
)


@handles("statuses.created")
async def status_created(ctx: JobContext, payload: dict[str, Any]) -> None:
    session = ctx.uow.session
    status = await session.get(Status, int(payload["status_id"]))
    if status is None or status.deleted_at is not None:
        return
    if payload.get("quiet"):
        return  # fetched to complete a thread or a profile: no feeds, streams or notifications
    fanned = await fan_out(session, status)
    for after, upto in fanned.later:
        await ctx.uow.enqueue(FAN_OUT_SLICE, {"status_id": status.id, "after": after, "upto": upto})
    # Streams hear about it once this job commits; direct messages update conversations.
    await distribution.status_created(ctx.uow, status, fanned)
    await _publish_created(ctx, status)
    # Its link's card: shared with every post of the link, fetched by a job of its own.
    await cards.attach_card(ctx.uow, ctx.container.settings, status)
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is not None:
            await notify(
                ctx.uow,
                type="reblog",
                recipient_id=original.account_id,
                from_account_id=status.account_id,
                status_id=original.id,
            )
        return
    mentioned = [row[0] for row in await run_in(session, _MENTIONED, {"status_id": status.id})]
    for account_id in mentioned:
        await notify(
            ctx.uow,
            type="mention",
            recipient_id=account_id,
            from_account_id=status.account_id,
            status_id=status.id,
        )
    if status.quote_of_id is not None:
        quoted = await session.get(Status, status.quote_of_id)
        if quoted is not None:
            await notify(
                ctx.uow,
                type="quote",
                recipient_id=quoted.account_id,
                from_account_id=status.account_id,
                status_id=status.id,
            )
    if status.visibility in ("public", "unlisted", "private") and (
        status.in_reply_to_id is None or status.in_reply_to_account_id == status.account_id
    ):
        subscribers = [
            row[0] for row in await run_in(session, _SUBSCRIBERS, {"account_id": status.account_id})
        ]
        for account_id in subscribers:
            await notify(
                ctx.uow,
                type="status",
                recipient_id=account_id,
                from_account_id=status.account_id,
                status_id=status.id,
            )


async def _publish_created(ctx: JobContext, status: Status) -> None:
    """A local status (or boost) goes to other servers when someone there may see it: a remote
    follower of its author, a remote account it mentions or answers, the remote author of what
    it boosts.
    Checked here, in the job, so that posting itself costs nothing more."""
    if not status.local:
        return
    session = ctx.uow.session
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        original_author = await session.get(Account, original.account_id) if original else None
        remote_author = original_author is not None and original_author.domain is not None
        if remote_author or await outbox.reaches_remote(session, status.account_id):
            await outbox.publish(ctx.uow, "Announce", {"status_id": status.id})
    elif await outbox.reaches_remote(session, status.account_id, status.id, interactions=True):
        await outbox.publish(ctx.uow, "Create", {"status_id": status.id})


@handles(FAN_OUT_SLICE)
async def status_fan_out_slice(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A further slice of a status's followers (`fanout.FOLLOWER_SLICE` follows), in a
    transaction of its own."""
    session = ctx.uow.session
    status = await session.get(Status, int(payload["status_id"]))
    if status is None:
        return
    span = (int(payload["after"]), int(payload["upto"]))
    distribution.status_reached(ctx.uow, status, await fan_out_slice(session, status, span))


@handles("statuses.updated")
async def status_updated(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Tell those who boosted (or quoted) an edited post that it changed, and the streams
    showing it."""
    session = ctx.uow.session
    status = await session.get(Status, int(payload["status_id"]))
    if status is None or status.deleted_at is not None:
        return
    await distribution.status_updated(ctx.uow, status)
    await cards.attach_card(ctx.uow, ctx.container.settings, status, replace=True)
    if status.local and await outbox.reaches_remote(session, status.account_id, status.id, interactions=True):
        await outbox.publish(ctx.uow, "Update", {"status_id": status.id})
    boosters = (
        await session.execute(
            select(Status.account_id)
            .where(Status.reblog_of_id == status.id, Status.deleted_at.is_(None))
            .distinct()
        )
    ).scalars()
    for account_id in list(boosters):
        await notify(
            ctx.uow,
            type="update",
            recipient_id=account_id,
            from_account_id=status.account_id,
            status_id=status.id,
        )


@handles("statuses.removed")
async def status_removed(ctx: JobContext, payload: dict[str, Any]) -> None:
    status_id = int(payload["status_id"])
    removed = await remove_from_feeds(ctx.uow.session, status_id)
    await distribution.status_removed(ctx.uow, await ctx.uow.session.get(Status, status_id), removed)


@handles("statuses.favourited")
async def status_favourited(ctx: JobContext, payload: dict[str, Any]) -> None:
    session = ctx.uow.session
    status = await session.get(Status, int(payload["status_id"]))
    if status is None or status.deleted_at is not None:
        return
    if not await repo.interaction_exists(session, Favourite, int(payload["account_id"]), status.id):
        return  # taken back before this job ran: nothing to notify
    await notify(
        ctx.uow,
        type="favourite",
        recipient_id=status.account_id,
        from_account_id=int(payload["account_id"]),
        status_id=status.id,
    )


@periodic("statuses.publish_scheduled", every=30)
@handles("statuses.publish_scheduled")
async def publish_scheduled(ctx: JobContext, payload: dict[str, Any]) -> None:
    await publish_due(ctx.uow, ctx.container.settings)
