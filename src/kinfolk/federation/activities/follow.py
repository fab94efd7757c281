"""Follow, and the Accept or Reject of the follows our accounts asked for.

A Follow of a local account goes through the relationships service's rules (blocks, locked
accounts, silenced followers); the answer it needs (an Accept for a follow made, a Reject when a
block refuses it) is handed to the delivery side as a `federation.distribute` job:
`{"type": "Accept"|"Reject", "account_id": <local>, "target_id": <remote follower>,
"follow_id": <Follow row id or None>, "follow_uri": <the Follow's id>}`. A locked account's
request is answered later, when its owner decides (the relationships service sends that one).

Accept and Reject name our Follow by its id, or embed it (`{actor: ours, object: them}`); only
the account that was asked can answer, since the rows are looked up with it as the target.
The instance actor's Follow of a relay (`domain/instance/relays.py`) is answered by the relay:
by its actor for a LitePub relay, else by an actor on its inbox's origin, which becomes the
relay's known actor (whose announcements are then relayed posts, not boosts).
"""

from __future__ import annotations

from sqlalchemy import select

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance import relays
from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.activities.lookup import embedded_field, local_account
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import same_origin
from kinfolk.kernel.errors import Forbidden

DISTRIBUTE = "federation.distribute"


async def _answer(ctx: IngressContext, kind: str, local: Account, follow_id: int | None, uri: str) -> None:
    payload = {
        "type": kind,
        "account_id": local.id,
        "target_id": ctx.actor.id,
        "follow_id": follow_id,
        "follow_uri": uri,
    }
    await ctx.uow.enqueue(DISTRIBUTE, payload)


@handles_activity("Follow")
async def follow(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    target = await local_account(ctx.uow.session, ctx.container.uris, activity.object_id)
    if target is None:
        return "not a local account"
    try:
        follow_id = await relationships.remote_follow(ctx.uow, ctx.actor, target, activity.id)
    except Forbidden:
        await _answer(ctx, "Reject", target, None, activity.id)
        return "refused by a block; Reject sent"
    if follow_id is not None:
        await _answer(ctx, "Accept", target, follow_id, activity.id)
    return None


async def _our_follower(ctx: IngressContext, activity: ParsedActivity) -> Account | None:
    """The local account whose follow (or request) of the actor this Accept/Reject answers."""
    session = ctx.uow.session
    if activity.object_id is not None:
        for table in (FollowRequest, Follow):
            found = await session.execute(
                select(Account)
                .join(table, table.account_id == Account.id)
                .where(
                    table.uri == activity.object_id,
                    table.target_account_id == ctx.actor.id,
                    Account.domain.is_(None),
                )
            )
            account = found.scalars().first()
            if account is not None:
                return account
    # Servers that answer with the Follow embedded, or name it by an id we never stored.
    if embedded_field(activity.object, "object") != ctx.actor.uri:
        return None
    local = await local_account(session, ctx.container.uris, embedded_field(activity.object, "actor"))
    if local is None:
        return None
    pending = await session.execute(
        select(FollowRequest.id).where(
            FollowRequest.account_id == local.id,
            FollowRequest.target_account_id == ctx.actor.id,
        )
    )
    return local if pending.first() is not None else None


async def _relay_answer(ctx: IngressContext, activity: ParsedActivity, state: str) -> str | None:
    """An answer to our Follow of a relay: None when it is not one, else the outcome ("" acted)."""
    relay = await relays.pending_for_follow(ctx.uow.session, activity.object_id)
    if relay is None:
        return None
    actor_uri = ctx.actor.uri
    expected = (
        relay.actor_uri == actor_uri
        if relay.follows_actor
        else bool(actor_uri and same_origin(actor_uri, relay.inbox_url))
    )
    if not expected:
        return "answer to a relay's follow by another actor"
    await relays.set_state(ctx.uow.session, relay, state, actor_uri)
    return ""


@handles_activity("Accept")
async def accept(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    relayed = await _relay_answer(ctx, activity, "accepted")
    if relayed is not None:
        return relayed or None
    local = await _our_follower(ctx, activity)
    if local is None:
        return "no follow request of ours matches"
    session = ctx.uow.session
    pending = await session.execute(
        select(FollowRequest.id).where(
            FollowRequest.account_id == local.id, FollowRequest.target_account_id == ctx.actor.id
        )
    )
    if pending.first() is None:
        return "already following"
    await relationships.authorize_follow_request(ctx.uow, ctx.actor, local.id)
    return None


@handles_activity("Reject")
async def reject(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    relayed = await _relay_answer(ctx, activity, "rejected")
    if relayed is not None:
        return relayed or None
    local = await _our_follower(ctx, activity)
    if local is None and embedded_field(activity.object, "object") == ctx.actor.uri:
        # A Reject of a follow already accepted (the remote account removed a follower).
        local = await local_account(
            ctx.uow.session, ctx.container.uris, embedded_field(activity.object, "actor")
        )
    if local is None:
        return "no follow of ours matches"
    session = ctx.uow.session
    pending = await session.execute(
        select(FollowRequest.id).where(
            FollowRequest.account_id == local.id, FollowRequest.target_account_id == ctx.actor.id
        )
    )
    if pending.first() is not None:
        await relationships.reject_follow_request(ctx.uow, ctx.actor, local.id)
    else:
        await relationships.remove_from_followers(ctx.uow, ctx.actor, local.id)
    return None
