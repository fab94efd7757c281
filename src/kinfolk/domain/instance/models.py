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
