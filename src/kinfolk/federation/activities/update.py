"""`Update` of a post (an edit) or of an actor (a profile change).

A post is changed by its author's `Update` (an embedded object on the author's origin,
attributed to the signer) and only by a version newer than the one stored (checklist 80); the
edit is recorded with history as a local edit is. Any other `Update` of a post stored here (one
forwarded by another server, or naming a post of someone else) believes nothing it carries:
the post is fetched again from its origin and that version is applied, under the same rules
(checklist 24: a forged one changes nothing while the origin serves the original). An actor
updates only itself (checklist 26), and its key is not replaced from an `Update` (checklist
21): a key changes only when a signature fails with the cached one and the actor is fetched
again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kinfolk.federation import dereference, notes
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.actor import is_actor, parse_actor
from kinfolk.federation.parse.object import is_note, parse_note
from kinfolk.federation.parse.values import ParseError, same_origin

log = logging.getLogger("kinfolk.federation")


@handles_activity("Update")
async def on_update(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    actor = ctx.actor
    obj = activity.object
    if actor.uri is None:
        return None
    if not isinstance(obj, Mapping):
        # A bare id: only what its origin serves can say what changed.
        return await _from_origin(ctx, activity.object_id)
    try:
        if is_actor(obj):
            parsed_actor = parse_actor(obj)
            if parsed_actor.id != actor.uri:
                log.info("Update %s: %s may not update %s", activity.id, actor.uri, parsed_actor.id)
                return None
            await dereference.store_actor(ctx.container, parsed_actor, keep_key=True, uow=ctx.job.uow)
        elif is_note(obj):
            parsed = parse_note(obj)
            if parsed.attributed_to != actor.uri or not same_origin(parsed.id, actor.uri):
                return await _from_origin(ctx, parsed.id)
            await notes.apply_update(ctx.container, ctx.job.uow, actor, parsed)
    except ParseError as exc:
        log.info("Update %s: unusable object: %s", activity.id, exc)
    return None


async def _from_origin(ctx: IngressContext, uri: str | None) -> str | None:
    """Apply the version of post `uri` its origin serves (fetched before the job's unit of
    work is first used)."""
    if uri is None:
        return None
    fetched = await dereference.refetch_note(ctx.container, uri)
    if fetched is None:
        return "not the sender's post, and its origin gave no version of it"
    author, parsed = fetched
    await notes.apply_update(ctx.container, ctx.job.uow, author, parsed)
    return None
