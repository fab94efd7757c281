"""Materialised feeds (home and lists), lists themselves, and read markers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

_ACCOUNT_FK = "accounts.id"


class HomeFeedEntry(Base):
    """One row per status in an account's home feed, written by fan-out, read by id range."""

    __tablename__ = "home_feed"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    # Who put it there (author or booster), so unfollow/block can remove their entries.
    origin_account_id: Mapped[int] = mapped_column(BigId)
    # For a reblog, the reblogged status: a feed shows one entry per original.
    reblog_of_id: Mapped[int | None] = mapped_column(BigId, default=None)

    __table_args__ = (
        # No (account_id, origin_account_id) index: removing an account's entries scans that
        # feed (at most 800 rows) by the primary key, and fan-out writing one more index entry
        # per follower, in a page of its own, cost half of a 10,000-follower fan-out on SQLite.
        # Who holds a status, for deletes, edits and their stream events.
        Index("ix_home_feed_status_id", "status_id"),
    )


class List(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    # followed | list | none
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListAccount(Base):
    __tablename__ = "list_accounts"

    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    follow_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("follows.id", ondelete="CASCADE"), default=None
    )

    __table_args__ = (Index("ix_list_accounts_account_id", "account_id"),)


class ListFeedEntry(Base):
    __tablename__ = "list_feed"

    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    origin_account_id: Mapped[int] = mapped_column(BigId)

    __table_args__ = (Index("ix_list_feed_status_id", "status_id"),)


class Marker(Base):
    __tablename__ = "markers"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    timeline: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_read_id: Mapped[int] = mapped_column(BigId, default=0)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AccountConversation(Base):
    """A direct-message conversation as one participant sees it (`/api/v1/conversations`)."""

    __tablename__ = "account_conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))
    participant_account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    last_status_id: Mapped[int | None] = mapped_column(BigId, default=None)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index(
            "ix_account_conversations_account_id_conversation_id",
            "account_id",
            "conversation_id",
            unique=True,
        ),
        Index("ix_account_conversations_account_id_last_status_id", "account_id", "last_status_id"),
    )
