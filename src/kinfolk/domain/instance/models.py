"""Server rules shown at sign-up and when reporting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class Rule(Base):
    __tablename__ = "instance_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    text: Mapped[str] = mapped_column(String(1000))
    hint: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class InstanceKey(Base):
    """The server's own key pairs, by name: `actor` signs the instance actor's fetches.

    One row per name, written once (insert-if-absent) and never rewritten, so that every process
    and every remote cache keep seeing the same public key.
    """

    __tablename__ = "instance_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryHost(Base):
    """How deliveries to one remote domain have been going, so a dead server stops costing us.

    A failure counts once per day (`failure_days`); after `delivery_hosts.UNAVAILABLE_DAYS`
    distinct days, or failing for that long, the domain is `unavailable_at` and deliveries to it
    are dropped until any sign of life (a success, a signed request from it) clears the row.
    """

    __tablename__ = "delivery_hosts"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    failure_days: Mapped[int] = mapped_column(default=0)
    unavailable_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Relay(Base):
    """A relay this server subscribes to (`kinfolk relays add`), as Mastodon's `relays` table.

    Our instance actor follows it: a Mastodon-style relay (`inbox_url` given, `follows_actor`
    false) is sent a `Follow` of the Public collection; a LitePub relay (an actor given) a
    `Follow` of its actor. Once it `Accept`s (state `accepted`), public local posts are also
    delivered to `inbox_url`, and what it announces is stored from its origin. `actor_uri` is
    the relay's actor: known at once for LitePub, learnt from the `Accept` otherwise.
    """

    __tablename__ = "relays"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    inbox_url: Mapped[str] = mapped_column(String(1024), unique=True)
    actor_uri: Mapped[str | None] = mapped_column(String(1024), default=None, index=True)
    follows_actor: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    follow_activity_id: Mapped[str | None] = mapped_column(String(1024), default=None, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
