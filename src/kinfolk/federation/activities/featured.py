"""`Add` and `Remove` of a post or a hashtag in the actor's own featured collection: a pin or
a featured tag, as Mastodon reads them.

Only the actor's own collections count (`target` must be its `featured` or `featuredTags`
URL as its actor document gives them), and only its own posts are pinned (checklist B: an
actor changes nothing of anyone else's). A post not stored yet is fetched from its own origin
before the job's unit of work is used; a `Remove` never fetches.
"""

from __future__ import annotations

from sqlalchemy import select

from kinfolk.domain.statuses import interactions
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.tags import service as tags
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.featured import hashtag_name
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import same_origin


@handles_activity("Add")
async def add(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    return await _featured(ctx, activity, added=True)


@handles_activity("Remove")
async def remove(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    return await _featured(ctx, activity, added=False)


async def _featured(ctx: IngressContext, activity: ParsedActivity, *, added: bool) -> str | None:
    actor = ctx.actor
    collections = {url for url in (actor.featured_url, actor.featured_tags_url) if url}
    if activity.target is None or activity.target not in collections:
        return "the target is not the actor's featured collection"
    name = hashtag_name(activity.object)
    if name is not None:
        if not await tags.remote_feature(ctx.uow, actor, name, featured=added):
            return "not a hashtag"
        return None
    object_id = activity.object_id
    if object_id is None or actor.uri is None or not same_origin(object_id, actor.uri):
        return "not the actor's own post"
    if added:
        status = await dereference.fetch_note(ctx.container, object_id)  # network before the unit of work
        status_id = status.id if status is not None else None
    else:
        status_id = (
            await ctx.uow.session.execute(select(Status.id).where(Status.uri == object_id))
        ).scalar_one_or_none()
    if status_id is None:
        return "unknown post"
    if not await interactions.remote_pin(ctx.uow, actor, status_id, pinned=added):
        return "not the actor's own post"
    return None
