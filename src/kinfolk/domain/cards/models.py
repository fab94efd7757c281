"""Preview cards and which status shows which.

A card belongs to a link, not to a status: fifty posts of one link share one row, so the link
is fetched once for the whole server (`cards.jobs`). The row exists from the first post that
carries the link (pending: `fetched_at` null); it is shown only once a fetch filled it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class PreviewCard(Base):
    __tablename__ = "preview_cards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    # The link as posts carry it (normalised), and its SHA-256: the unique key, since links may
    # be longer than an index entry allows.
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    link: Mapped[str] = mapped_column(Text)
    # What the page says it is: its canonical URL on the same host, else where redirects ended.
    url: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16), default="link")
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str] = mapped_column(Text, default="")
    author_url: Mapped[str] = mapped_column(Text, default="")
    provider_name: Mapped[str] = mapped_column(Text, default="")
    provider_url: Mapped[str] = mapped_column(Text, default="")
    # Sanitised embed (an iframe only), for video cards.
    html: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    embed_url: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The page's image where it was found, and our copy of it (never shown from its origin).
    image_remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    image_key: Mapped[str | None] = mapped_column(String(255), default=None)
    image_description: Mapped[str] = mapped_column(Text, default="")
    blurhash: Mapped[str | None] = mapped_column(String(255), default=None)
    # Set by every fetch, whatever its outcome; null while the first one is pending.
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Changes whenever what the card shows may have: part of a cached status rendering's stamp.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def shown(self) -> bool:
        """Whether the card has something to show (Mastodon saves none without a title or embed)."""
        return self.fetched_at is not None and self.error is None and bool(self.title or self.html)


class StatusPreviewCard(Base):
    """The card of a status: its first eligible link's (one per status, as Mastodon shows)."""

    __tablename__ = "status_preview_cards"

    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    card_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("preview_cards.id", ondelete="CASCADE"), index=True
    )
