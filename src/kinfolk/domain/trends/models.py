"""The latest computed trends: a small ranked table rewritten by a periodic job.

Requests read a few rows by (kind, rank); the heavy aggregation runs in the job, never on the
request path, and every process (web or worker, SQLite or PostgreSQL) sees the same ranking.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

TREND_KINDS = ("tags", "statuses", "links")


class TrendEntry(Base):
    __tablename__ = "trend_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column()
    tag_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), default=None)
    status_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), default=None
    )
    url: Mapped[str | None] = mapped_column(Text, default=None)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # Seven days of {day, uses, accounts} (strings, as Mastodon renders them), newest first.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_trend_entries_kind_rank", "kind", "rank"),)
