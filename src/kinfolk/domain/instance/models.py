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
