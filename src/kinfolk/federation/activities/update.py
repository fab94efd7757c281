"""`Update` of a post (an edit) or of an actor (a profile change).

A post is changed only by its author (checklist 24) and only by a version newer than the one
stored (checklist 80); the edit is recorded with history as a local edit is. An actor updates
only itself (checklist 26), and its key is not replaced from an `Update` (checklist 21): a
key changes only when a signature fails with the cached one and the actor is fetched again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kinfolk.federation import dereference, notes
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.actor import is_actor, parse_actor
from kinfolk.federation.parse.object import is_note, parse_note
from kinfolk.federation.parse.values import ParseError

log = logging.getLogger("kinfolk.federation")


@handles_activity("Update")
async def on_update(ctx: IngressContext, activity: ParsedActivity) -> None:
    actor = ctx.actor
    obj = activity.object
    if actor.uri is None or not isinstance(obj, Mapping):
        return
    try:
        if is_actor(obj):
            parsed_actor = parse_actor(obj)
            if parsed_actor.id != actor.uri:
                log.info("Update %s: %s may not update %s", activity.id, actor.uri, parsed_actor.id)
                return
            await dereference.store_actor(ctx.container, parsed_actor, keep_key=True, uow=ctx.job.uow)
        elif is_note(obj):
            parsed = parse_note(obj)
            await notes.apply_update(ctx.container, ctx.job.uow, actor, parsed)
    except ParseError as exc:
        log.info("Update %s: unusable object: %s", activity.id, exc)
