"""Hashtags, which statuses carry them, who follows them, and featured tags on profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    # Lower-cased (and NFKC-normalised) name: the key; display_name keeps the first spelling.
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    usable: Mapped[bool] = mapped_column(Boolean, default=True)
    trendable: Mapped[bool] = mapped_column(Boolean, default=True)
    listable: Mapped[bool] = mapped_column(Boolean, default=True)
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusTag(Base):
    __tablename__ = "status_tags"

    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    # Copied from the status so hashtag timelines and trends are one index range scan.
    account_id: Mapped[int] = mapped_column(BigId)
    local: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (Index("ix_status_tags_status_id", "status_id"),)


class TagFollow(Base):
    __tablename__ = "tag_follows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "tag_id"),
        Index("ix_tag_follows_tag_id", "tag_id"),
    )


class FeaturedTag(Base):
    __tablename__ = "featured_tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)
