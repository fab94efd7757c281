"""Filters v2: keyword and status filters with contexts, an action and an optional expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class Filter(Base):
    __tablename__ = "filters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    # home | notifications | public | thread | account
    context: Mapped[list[str]] = mapped_column(JSON, default=list)
    # warn | hide | blur
    action: Mapped[str] = mapped_column(String(8), default="warn")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FilterKeyword(Base):
    __tablename__ = "filter_keywords"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(BigId, ForeignKey("filters.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(String(255))
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)


class FilterStatus(Base):
    __tablename__ = "filter_statuses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    filter_id: Mapped[int] = mapped_column(BigId, ForeignKey("filters.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int] = mapped_column(BigId, ForeignKey("statuses.id", ondelete="CASCADE"))

    __table_args__ = (UniqueConstraint("filter_id", "status_id"),)
