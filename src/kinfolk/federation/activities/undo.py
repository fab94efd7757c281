"""Undo of a Follow, Like (or emoji reaction), Announce or Block, by the actor that did it and nobody else.

The undone activity is embedded (most servers) or named by its id. An embedded one must have
the Undo's actor as its own actor (checklist 27: eve can't undo bob's follow); a named one is
looked up among the rows this actor made (follows and boosts keep their ActivityPub ids). Every
change then goes through the same service call a local user's undo makes, with the remote actor
as the viewer, so it can only ever remove the actor's own follow, favourite, boost or block.
"""

from __future__ import annotations

from sqlalchemy import select

from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.domain.statuses import interactions
from kinfolk.domain.statuses import service as statuses
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.activities.lookup import embedded, embedded_field, local_account, local_status
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import first_type, https_url

UNDOABLE = ("Follow", "Like", "EmojiReact", "Announce", "Block")


@handles_activity("Undo")
async def undo(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    inner = embedded(activity.object)
    if inner is not None:
        if embedded_field(inner, "actor") != ctx.actor.uri:
            return "refused: the undone activity is not the actor's own"
        kind = first_type(inner, UNDOABLE)
        if kind is None:
            return "nothing undoable embedded"
        return await _undo_embedded(ctx, kind, https_url(inner.get("id")), embedded_field(inner, "object"))
    if activity.object_id is None:
        return "no object"
    return await _undo_by_id(ctx, activity.object_id)


async def _undo_embedded(
    ctx: IngressContext, kind: str, inner_id: str | None, object_id: str | None
) -> str | None:
    session = ctx.uow.session
    uris = ctx.container.uris
    if kind in ("Follow", "Block"):
        target = await local_account(session, uris, object_id)
        if target is None:
            return "not a local account"
        if kind == "Follow":
            await relationships.unfollow(ctx.uow, ctx.actor, target.id)
        else:
            await relationships.unblock(ctx.uow, ctx.actor, target.id)
        return None
    if kind == "Announce" and inner_id is not None:
        outcome = await _undo_by_id(ctx, inner_id)
        if outcome is None:
            return None
    status = await local_status(session, uris, object_id)
    if status is None:
        return "not a local status"
    if kind in ("Like", "EmojiReact"):
        await interactions.apply(ctx.uow, ctx.actor, status.id, "unfavourite")
    else:
        await statuses.unreblog(ctx.uow, ctx.actor, status.id)
    return None


async def _undo_by_id(ctx: IngressContext, inner_id: str) -> str | None:
    """An undone Follow or Announce named by its id, among the actor's own rows."""
    session = ctx.uow.session
    for table in (Follow, FollowRequest):
        target_id = (
            await session.execute(
                select(table.target_account_id).where(table.uri == inner_id, table.account_id == ctx.actor.id)
            )
        ).scalar_one_or_none()
        if target_id is not None:
            await relationships.unfollow(ctx.uow, ctx.actor, target_id)
            return None
    boosted = (
        await session.execute(
            select(Status.reblog_of_id).where(
                Status.uri == inner_id,
                Status.account_id == ctx.actor.id,
                Status.reblog_of_id.is_not(None),
                Status.deleted_at.is_(None),
            )
        )
    ).scalar_one_or_none()
    if boosted is not None:
        await statuses.unreblog(ctx.uow, ctx.actor, boosted)
        return None
    return "nothing of the actor's matches"
