"""Like, Announce and Block from remote actors, through the same domain code as a local user's.

Each acts on local objects named by id: a favourite (its notification comes from the
`statuses.favourited` job, as for a local favourite), a boost stored as a remote status whose id
is the Announce's (the boost's notification comes from `statuses.created`), a block (follows end
both ways, feeds purged). An embedded copy of the object is never believed: only its id is used.

A boost of a remote status needs the status fetched from its origin
(`federation.dereference.fetch_note`); until that exists such boosts are recorded and left.

Groups (Lemmy communities) announce the activities of their members rather than the posts: an
`Announce` of a `Create` is a boost of the created object (fetched from its own origin, never
taken from the embedded copy); an `Announce` of any other activity (a vote, an edit, a
deletion relayed to the group's followers) is not a boost and stores nothing.

A relay we subscribe to (`domain/instance/relays.py`) announces the public posts of its other
subscribers: the post is stored as fetched from its origin (so it shows in the federated
timeline), and the relay makes no boost: it is followed by no one and has no place in a home.
"""

from __future__ import annotations

from collections.abc import Mapping

from kinfolk.domain.instance import relays
from kinfolk.domain.relationships import service as relationships
from kinfolk.domain.statuses import interactions
from kinfolk.domain.statuses import service as statuses
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.activities.lookup import local_account, local_status
from kinfolk.federation.parse.activity import ParsedActivity, is_activity
from kinfolk.federation.parse.values import first_id, first_type

PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})


def boost_visibility(activity: ParsedActivity) -> str:
    """Mastodon's reading of an Announce's addressing: public in `to`, unlisted in `cc`, else
    followers only."""
    if PUBLIC & set(activity.to):
        return "public"
    if PUBLIC & set(activity.cc):
        return "unlisted"
    return "private"


@handles_activity("Like")
@handles_activity("EmojiReact")
async def like(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    """A favourite. An emoji reaction (Pleroma's and Akkoma's `EmojiReact`, Misskey's `Like`
    carrying `_misskey_reaction`) counts as one too: one per actor and status, whatever the
    emoji, and its `Undo` removes it."""
    status = await local_status(ctx.uow.session, ctx.container.uris, activity.object_id)
    if status is None:
        return "not a local status"
    await interactions.apply(ctx.uow, ctx.actor, status.id, "favourite")
    return None


def announced_object_id(activity: ParsedActivity) -> str | None:
    """The id of what an `Announce` boosts: its object, or the object of an announced `Create`
    (None for any other announced activity)."""
    embedded = activity.object
    if isinstance(embedded, Mapping) and is_activity(embedded):
        if first_type(embedded, frozenset({"Create"})) is None:
            return None
        return first_id(embedded.get("object"))
    return activity.object_id


@handles_activity("Announce")
async def announce(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    uris = ctx.container.uris
    object_id = announced_object_id(activity)
    if object_id is None:
        return "no object, or an announced activity that is not a Create"
    target_id: int | None = None
    if not uris.is_local(object_id):
        fetched = await dereference.fetch_note(ctx.container, object_id)  # network before the unit of work
        if fetched is None:
            return "boosted status could not be fetched"
        target_id = fetched.id
    else:
        found = await local_status(ctx.uow.session, uris, object_id)
        if found is None:
            return "not a local status"
        target_id = found.id
    if await relays.is_relay_actor(ctx.uow.session, ctx.actor.uri):
        return "a relay announced our own post" if uris.is_local(object_id) else None
    await statuses.reblog(
        ctx.uow,
        ctx.container.settings,
        ctx.actor,
        target_id,
        boost_visibility(activity),
        uri=activity.id,
    )
    return None


@handles_activity("Block")
async def block(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    target = await local_account(ctx.uow.session, ctx.container.uris, activity.object_id)
    if target is None:
        return "not a local account"
    await relationships.block(ctx.uow, ctx.actor, target.id)
    return None
