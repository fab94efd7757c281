"""The relays this server subscribes to, as Mastodon's `Relay` model (`kinfolk relays`).

A relay is a server that passes public posts between the servers subscribed to it, so that
small servers see more than what their users follow. Our instance actor follows it: a
Mastodon-style relay is named by its inbox and followed with a `Follow` whose object is the
Public collection; a LitePub relay (pleroma-relay, Aode's relay) is named by its actor and
followed as that actor. The `Follow` goes out through the outbox (`outbox.publish`, object type
`Relay`); the relay's `Accept` or `Reject` sets the state (`federation/activities/follow.py`).
While `accepted`, public local posts also go to the relay's inbox
(`federation/distribute.status_reach`), and what the relay announces or forwards is stored as
fetched from its origin, into the federated timeline only: the relay is followed by no account,
so it has no place in any home, and its announcements make no boost.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.instance.models import Relay
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.ids import new_id
from kinfolk.kernel.uris import Uris

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
STATES = ("pending", "accepted", "rejected")
MAX_RELAYS = 100
"""Relays a server may subscribe to: every public post is delivered to each of them."""


def follow_activity_id(uris: Uris, relay_id: int) -> str:
    """Our `Follow` of a relay: a fragment of the instance actor, fixed once sent (the relay's
    `Accept` and our `Undo` name it)."""
    return f"{uris.instance_actor()}#relays/{relay_id}"


def follow_object(relay: Relay) -> str:
    """What the `Follow` follows: the relay's actor (LitePub), else the Public collection."""
    return relay.actor_uri if relay.follows_actor and relay.actor_uri else PUBLIC


async def add_relay(uow: UnitOfWork, uris: Uris, inbox_url: str, actor_uri: str | None = None) -> Relay:
    """Subscribe to a relay: a pending row, and its `Follow` published in the same unit of work.
    `actor_uri` given: a LitePub relay, followed as that actor. Adding a relay that is known
    already, unless it refused us, is refused (422)."""
    session = uow.session
    found = (
        (
            await session.execute(
                select(Relay).where(
                    or_(Relay.inbox_url == inbox_url, Relay.actor_uri == (actor_uri or inbox_url))
                )
            )
        )
        .scalars()
        .first()
    )
    if found is not None and found.state != "rejected":
        raise Unprocessable(f"Already subscribed to {found.inbox_url} ({found.state})")
    if found is None:
        count = len((await session.execute(select(Relay.id).limit(MAX_RELAYS))).all())
        if count >= MAX_RELAYS:
            raise Unprocessable(f"At most {MAX_RELAYS} relays")
        relay_id = new_id()
        found = Relay(id=relay_id, inbox_url=inbox_url)
        session.add(found)
    # A relay that refused us is asked again with a Follow of a new id.
    found.actor_uri = actor_uri
    found.follows_actor = actor_uri is not None
    found.state = "pending"
    found.follow_activity_id = follow_activity_id(uris, new_id())
    found.updated_at = utcnow()
    await session.flush()
    await outbox.publish(uow, "Follow", {"object_type": "Relay", "relay_id": found.id})
    return found


async def remove_relay(uow: UnitOfWork, url: str) -> Relay:
    """Unsubscribe (by inbox or actor URL): the row goes, and an `Undo` of our `Follow` goes to
    the relay with everything it needs in its payload (NotFound when no relay matches)."""
    session = uow.session
    found = (
        (await session.execute(select(Relay).where(or_(Relay.inbox_url == url, Relay.actor_uri == url))))
        .scalars()
        .first()
    )
    if found is None:
        raise NotFound(f"No relay {url}")
    if found.follow_activity_id:
        await outbox.publish(
            uow,
            "Undo",
            {
                "object_type": "Relay",
                "inbox_url": found.inbox_url,
                "follow_activity_id": found.follow_activity_id,
                "object": follow_object(found),
            },
        )
    await session.execute(delete(Relay).where(Relay.id == found.id))
    return found


async def list_relays(session: AsyncSession) -> list[Relay]:
    return list((await session.execute(select(Relay).order_by(Relay.inbox_url).limit(MAX_RELAYS))).scalars())


async def pending_for_follow(session: AsyncSession, follow_id: str | None) -> Relay | None:
    """The relay whose pending `Follow` has this id (what its `Accept` or `Reject` names)."""
    if not follow_id:
        return None
    stmt = select(Relay).where(Relay.follow_activity_id == follow_id, Relay.state == "pending")
    return (await session.execute(stmt)).scalars().first()


async def set_state(session: AsyncSession, relay: Relay, state: str, actor_uri: str | None) -> None:
    """The relay answered: `accepted` (its actor now known) or `rejected`."""
    await session.execute(
        update(Relay)
        .where(Relay.id == relay.id)
        .values(state=state, actor_uri=relay.actor_uri or actor_uri, updated_at=utcnow())
    )


async def is_relay_actor(session: AsyncSession, actor_uri: str | None) -> bool:
    """Is this actor a relay we subscribe to (its Follow accepted)?"""
    if not actor_uri:
        return False
    stmt = select(exists().where(Relay.actor_uri == actor_uri, Relay.state == "accepted"))
    return bool((await session.execute(stmt)).scalar())


async def accepted_inboxes(session: AsyncSession) -> list[str]:
    """The inboxes of the relays that accepted us, where public local posts also go."""
    stmt = (
        select(Relay.inbox_url).where(Relay.state == "accepted").order_by(Relay.inbox_url).limit(MAX_RELAYS)
    )
    return list((await session.execute(stmt)).scalars())
