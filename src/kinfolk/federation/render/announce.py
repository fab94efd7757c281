"""A boost as an `Announce` of the boosted status's id.

The object is referenced, not embedded: receivers fetch it from its origin (FEP-fe34), and a
boost of a remote status must not carry our copy of someone else's post.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import PUBLIC, RenderEnv, ap_time
from kinfolk.federation.render.note import status_uri


def render_announce_object(
    env: RenderEnv, boost: Status, booster: Account, boosted: Status, boosted_author: Account
) -> dict[str, Any]:
    uris = env.uris
    followers = uris.followers(booster.username)
    original_author = uris.account_id(boosted_author)
    if boost.visibility == "public":
        to, cc = [PUBLIC], [original_author, followers]
    elif boost.visibility == "unlisted":
        to, cc = [followers], [original_author, PUBLIC]
    else:
        to, cc = [followers], [original_author]
    if boosted_author.id == booster.id:
        cc = [c for c in cc if c != original_author]
    return {
        "id": uris.status_activity(booster.username, boost.id),
        "type": "Announce",
        "actor": uris.account_id(booster),
        "published": ap_time(boost.created_at),
        "to": to,
        "cc": cc,
        "object": status_uri(env, boosted, boosted_author),
    }


def render_announce(
    env: RenderEnv, boost: Status, booster: Account, boosted: Status, boosted_author: Account
) -> dict[str, Any]:
    return with_context(render_announce_object(env, boost, booster, boosted, boosted_author))
