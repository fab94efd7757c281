"""The activities that are not a status's Create or Announce: Delete (of a status or of the
actor), Update, Like, Follow, Accept, Reject, Undo and Block, in the shapes Mastodon sends.

Ids come from `kernel/uris.Uris`: a status's own activities hang off the status (its `Create`
and `Announce` at `status_activity`), every other one is a fragment of the actor
(`Uris.activity`), and an `Undo` is the undone activity's id plus `/undo` (`Uris.undo`), so
the same action always gets the same id, however often it is rendered or delivered.
Accept and Reject embed the `Follow` they answer, as Mastodon does: a receiver that lost track
of the request still learns which follow it was.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts.models import Account
from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import PUBLIC, RenderEnv, ap_time


def _bare(document: dict[str, Any]) -> dict[str, Any]:
    """An activity embedded in another carries no `@context` of its own."""
    return {key: value for key, value in document.items() if key != "@context"}


def render_delete(
    env: RenderEnv, actor: Account, object_uri: str, status_id: int, *, to: list[str], cc: list[str]
) -> dict[str, Any]:
    """`Delete` of a status: the object is a `Tombstone` with its id, nothing more of it."""
    return with_context(
        {
            "id": env.uris.activity(actor.username, "delete", status_id),
            "type": "Delete",
            "actor": env.uris.account_id(actor),
            "to": to,
            "cc": cc,
            "object": {"id": object_uri, "type": "Tombstone", "atomUri": object_uri},
        }
    )


def render_delete_actor(env: RenderEnv, actor: Account) -> dict[str, Any]:
    """`Delete` of the actor itself, its account deleted: the object is the actor's id, as
    Mastodon sends it; receivers remove everything of the actor."""
    actor_id = env.uris.account_id(actor)
    return with_context(
        {
            "id": env.uris.actor_delete(actor.username),
            "type": "Delete",
            "actor": actor_id,
            "to": [PUBLIC],
            "object": actor_id,
        }
    )


def render_update(
    env: RenderEnv, actor: Account, object_document: dict[str, Any], version: str
) -> dict[str, Any]:
    """`Update` of a status (its Note) or of the actor itself; `version` tells one update from
    the next (the edit time), as receivers skip an id they have seen."""
    obj = _bare(object_document)
    return with_context(
        {
            "id": env.uris.activity(actor.username, "updates", version),
            "type": "Update",
            "actor": env.uris.account_id(actor),
            "to": list(obj.get("to") or [PUBLIC]),
            "cc": list(obj.get("cc") or []),
            **({"published": obj["updated"]} if obj.get("updated") else {}),
            "object": obj,
        }
    )


def render_like(env: RenderEnv, actor: Account, object_uri: str, favourite_id: int) -> dict[str, Any]:
    return with_context(
        {
            "id": env.uris.activity(actor.username, "likes", favourite_id),
            "type": "Like",
            "actor": env.uris.account_id(actor),
            "object": object_uri,
        }
    )


def render_follow(follow_uri: str, follower_uri: str, followed_uri: str) -> dict[str, Any]:
    """A `Follow` by either side: ours (asking) or a remote one we answer (embedded)."""
    return with_context({"id": follow_uri, "type": "Follow", "actor": follower_uri, "object": followed_uri})


def render_answer(
    env: RenderEnv, kind: str, actor: Account, follow: dict[str, Any], follow_id: int
) -> dict[str, Any]:
    """`Accept` or `Reject` of a remote account's `follow`, by the local `actor` it asked."""
    return with_context(
        {
            "id": env.uris.activity(actor.username, f"{kind.lower()}s/follows", follow_id),
            "type": kind,
            "actor": env.uris.account_id(actor),
            "object": _bare(follow),
        }
    )


def render_block(env: RenderEnv, actor: Account, target_uri: str, block_id: int) -> dict[str, Any]:
    return with_context(
        {
            "id": env.uris.activity(actor.username, "blocks", block_id),
            "type": "Block",
            "actor": env.uris.account_id(actor),
            "object": target_uri,
        }
    )


def render_undo(
    env: RenderEnv, actor: Account, undone: dict[str, Any], *, to: list[str] | None = None
) -> dict[str, Any]:
    """`Undo` of one of the actor's own activities (a Follow, Like, Announce, Block)."""
    inner = _bare(undone)
    document: dict[str, Any] = {
        "id": env.uris.undo(str(inner["id"])),
        "type": "Undo",
        "actor": env.uris.account_id(actor),
    }
    if to is not None:
        document["to"] = to
    document["object"] = inner
    return with_context(document)


def render_instance_undo(env: RenderEnv, undone: dict[str, Any]) -> dict[str, Any]:
    """`Undo` of one of the instance actor's own activities (its `Follow` of a relay)."""
    inner = _bare(undone)
    return with_context(
        {
            "id": env.uris.undo(str(inner["id"])),
            "type": "Undo",
            "actor": env.uris.instance_actor(),
            "object": inner,
        }
    )


def render_flag(env: RenderEnv, report_id: int, comment: str, object_uris: list[str]) -> dict[str, Any]:
    """A local report forwarded to the reported account's server, as Mastodon sends it: by the
    instance actor (the reporter stays anonymous), naming the account first, then its posts."""
    return with_context(
        {
            "id": f"{env.uris.instance_actor()}#reports/{report_id}",
            "type": "Flag",
            "actor": env.uris.instance_actor(),
            "content": comment,
            "object": object_uris,
        }
    )


def announce_stub(
    env: RenderEnv, actor: Account, uri: str, object_uri: str, published: Any
) -> dict[str, Any]:
    """The `Announce` an `Undo` names, when the boosted status cannot be rendered in full."""
    return {
        "id": uri,
        "type": "Announce",
        "actor": env.uris.account_id(actor),
        "published": ap_time(published),
        "object": object_uri,
    }


def render_pin(env: RenderEnv, kind: str, actor: Account, object_uri: str, pin_id: int) -> dict[str, Any]:
    """`Add` (a pin) or `Remove` (an unpin) of one of the actor's posts in its `featured`
    collection, as Mastodon sends them to followers; the id names the pin and the action."""
    return with_context(
        {
            "id": env.uris.activity(actor.username, f"{kind.lower()}s/pins", pin_id),
            "type": kind,
            "actor": env.uris.account_id(actor),
            "object": object_uri,
            "target": env.uris.featured(actor.username),
        }
    )
