"""Statuses and what hangs off them: counters, edits, mentions, favourites, bookmarks, pins, threads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

VISIBILITIES = ("public", "unlisted", "private", "direct")

_ACCOUNT_FK = "accounts.id"
_STATUS_FK = "statuses.id"


class Conversation(Base):
    """A thread: every status in a reply chain shares its root's conversation."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    uri: Mapped[str | None] = mapped_column(String(1024), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Status(Base):
    __tablename__ = "statuses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(1024), unique=True, default=None)
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    # The author's source text (local statuses) and the rendered, sanitised HTML.
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    in_reply_to_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey(_STATUS_FK, ondelete="SET NULL"), default=None
    )
    in_reply_to_account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="SET NULL"), default=None
    )
    reblog_of_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"), default=None
    )
    quote_of_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey(_STATUS_FK, ondelete="SET NULL"), default=None
    )
    # accepted | pending | rejected | revoked | deleted, for the quote this status makes.
    quote_state: Mapped[str | None] = mapped_column(String(16), default=None)
    # public | followers | nobody: who may quote this status.
    quote_policy: Mapped[str] = mapped_column(String(16), default="public")
    conversation_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    poll_id: Mapped[int | None] = mapped_column(BigId, default=None)
    application_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("oauth_applications.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        Index("ix_statuses_reblog_of_id_account_id", "reblog_of_id", "account_id"),
        Index("ix_statuses_in_reply_to_id", "in_reply_to_id"),
        Index("ix_statuses_conversation_id", "conversation_id"),
        Index("ix_statuses_public_timeline", "visibility", "local", "id"),
    )


class StatusStats(Base):
    __tablename__ = "status_stats"

    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"), primary_key=True
    )
    replies_count: Mapped[int] = mapped_column(default=0)
    reblogs_count: Mapped[int] = mapped_column(default=0)
    favourites_count: Mapped[int] = mapped_column(default=0)
    quotes_count: Mapped[int] = mapped_column(default=0)


class StatusEdit(Base):
    """One revision of a status, for `/history`; the first revision is the original."""

    __tablename__ = "status_edits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    media_attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    poll_options: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    silent: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("status_id", "account_id"),
        Index("ix_mentions_account_id_status_id", "account_id", "status_id"),
    )


class Favourite(Base):
    __tablename__ = "favourites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "status_id"),
        Index("ix_favourites_status_id_id", "status_id", "id"),
        Index("ix_favourites_account_id_id", "account_id", "id"),
    )


class Bookmark(Base):
    __tablename__ = "bookmarks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "status_id"),
        Index("ix_bookmarks_account_id_id", "account_id", "id"),
    )


class StatusPin(Base):
    __tablename__ = "status_pins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey(_STATUS_FK, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class ConversationMute(Base):
    __tablename__ = "conversation_mutes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("account_id", "conversation_id"),)


class IdempotencyKey(Base):
    """`Idempotency-Key` header values: the same key from the same account makes one status."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    status_id: Mapped[int | None] = mapped_column(BigId, default=None)
    scheduled_status_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "key"),)


class ScheduledStatus(Base):
    __tablename__ = "scheduled_statuses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The validated posting parameters, replayed through the posting service when due.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    application_id: Mapped[int | None] = mapped_column(BigId, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_scheduled_statuses_account_id_id", "account_id", "id"),)


class Tombstone(Base):
    """A remote status that was deleted: its id is remembered so that a `Create` arriving after
    the `Delete` (deliveries are not ordered) stores nothing (security checklist 79)."""

    __tablename__ = "tombstones"

    uri: Mapped[str] = mapped_column(String(1024), primary_key=True)
    # Who deleted it (the status's author), when that account is known here.
    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
