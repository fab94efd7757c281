"""Polls attached to statuses, and the votes cast in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class Poll(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), default=None, index=True
    )
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Tallies per option, kept in step with poll_votes (and filled from remote counts later).
    cached_tallies: Mapped[list[int]] = mapped_column(JSON, default=list)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    votes_count: Mapped[int] = mapped_column(default=0)
    voters_count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set once the author and voters were told that the poll ended (notifications.polls_expired).
    notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_polls_notified_expires_at", "notified", "expires_at"),)


class PollVote(Base):
    __tablename__ = "poll_votes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    poll_id: Mapped[int] = mapped_column(BigId, ForeignKey("polls.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    choice: Mapped[int] = mapped_column()
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_poll_votes_poll_id_account_id_choice", "poll_id", "account_id", "choice", unique=True),
    )
