"""Media attachments: uploaded (or remote) files, their processed variants and metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

MEDIA_TYPES = ("image", "gifv", "video", "audio", "unknown")


class MediaAttachment(Base):
    __tablename__ = "media_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="SET NULL"), default=None
    )
    # Position within the status; media keep the order they were attached in.
    position: Mapped[int] = mapped_column(default=0)
    type: Mapped[str] = mapped_column(String(16), default="image")
    # processing | ready | failed
    state: Mapped[str] = mapped_column(String(16), default="ready")
    file_key: Mapped[str | None] = mapped_column(String(512), default=None)
    preview_key: Mapped[str | None] = mapped_column(String(512), default=None)
    thumbnail_key: Mapped[str | None] = mapped_column(String(512), default=None)
    original_key: Mapped[str | None] = mapped_column(String(512), default=None)
    remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    content_type: Mapped[str | None] = mapped_column(String(128), default=None)
    file_size: Mapped[int | None] = mapped_column(default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    focus_x: Mapped[float] = mapped_column(default=0.0)
    focus_y: Mapped[float] = mapped_column(default=0.0)
    blurhash: Mapped[str | None] = mapped_column(String(128), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_media_attachments_status_id", "status_id"),
        Index("ix_media_attachments_account_id_status_id", "account_id", "status_id"),
    )
