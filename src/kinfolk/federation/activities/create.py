"""`Create` of a post (Note, Article, Page, Question, Event, Video, Audio, Image, ...).

The embedded object is believed only when it could only have come from the actor: its id on the
actor's origin and `attributedTo` the actor. An object on another origin is dropped (checklist
22); one on the actor's origin but attributed to someone else (a forwarded-looking copy) is
fetched by id from its origin and stored only as fetched (checklist 23). A post id stored
already for another author stores nothing (checklist 32), a tombstoned one neither (79).

A reply to a local post addressed to its author's followers is then forwarded to them
(`federation/forwarding.py`, Mastodon's inbox forwarding). A Note answering a local poll with
one of its options' titles is a vote (`federation/votes.py`): counted, never stored as a post.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kinfolk.federation import dereference, forwarding, votes
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.object import is_note, parse_note
from kinfolk.federation.parse.values import ParseError, same_origin
from kinfolk.federation.parse.vote import parse_vote

log = logging.getLogger("kinfolk.federation")


@handles_activity("Create")
async def on_create(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    actor = ctx.actor
    if actor.uri is None:
        return None
    obj = activity.object
    object_id = activity.object_id
    if object_id is None or not same_origin(object_id, actor.uri):
        log.info("Create %s: object %s is not on the actor's origin", activity.id, object_id)
        return None
    if isinstance(obj, Mapping):
        vote = parse_vote(obj)
        if vote is not None and vote.id == object_id:
            outcome = await votes.receive_vote(ctx.container, ctx.uow, actor, vote)
            if outcome.is_vote:
                return outcome.refused
        if not is_note(obj):
            return None
        try:
            parsed = parse_note(obj)
        except ParseError as exc:
            log.info("Create %s: unusable object: %s", activity.id, exc)
            return None
        if parsed.id == object_id and parsed.attributed_to == actor.uri:
            stored = await dereference.store_fetched_note(
                ctx.container, parsed, author=actor, uow=ctx.job.uow
            )
            await forwarding.forward_reply(ctx.uow, ctx.container, ctx.raw, activity.id, actor, stored)
            return None
    # A bare id, or an embedded copy we may not believe: what its origin serves is the truth.
    fetched = await dereference.fetch_note(ctx.container, object_id)
    await forwarding.forward_reply(ctx.uow, ctx.container, ctx.raw, activity.id, actor, fetched)
    return None
