"""Activities received in our inboxes, stored once by their id before anything acts on them.

The inbox request only verifies and stores (one row and its `federation.ingress` job in one
transaction); the job does the work. The unique `uri` makes a repeated delivery (a sender's retry,
the same activity to a shared and a personal inbox) a no-op, and the row says what became of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class InboxActivity(Base):
    __tablename__ = "inbox_activities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    uri: Mapped[str] = mapped_column(String(1024), unique=True)
    # The verified signer, which is the activity's actor (the inbox refuses any other).
    actor_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What the ingress job made of it: "" when handled, else why not ("unknown type", ...).
    outcome: Mapped[str] = mapped_column(String(255), default="")


class SignatureHost(Base):
    """Which HTTP signature a remote host accepted last (`federation/signing.py`): "cavage"
    (draft-cavage-12) or "rfc9421". Learnt by double-knocking, so that each host costs a second
    request once, not on every delivery."""

    __tablename__ = "signature_hosts"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
