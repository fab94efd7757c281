"""Custom emojis: one row per (shortcode, domain), as Mastodon keeps them.

Remote ones come from the `Emoji` tags of posts and actors of their server (`domain`); local
ones (`domain` NULL) would be made by an administrator. A status or an account shows the
emojis of its author's server whose shortcodes its text uses (`service.emojis_for_texts`), so
no link rows are kept: an edit that adds `:blobcat:` shows it, one that removes it does not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class CustomEmoji(Base):
    __tablename__ = "custom_emojis"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    # Letters, digits and `_`, without the colons.
    shortcode: Mapped[str] = mapped_column(String(128))
    # None for our own; the lower-cased host of the server otherwise.
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    # The `Emoji` object's id, when it had one.
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    image_remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    # Our copy (as served) and its still version; None until copied.
    image_key: Mapped[str | None] = mapped_column(String(512), default=None)
    image_static_key: Mapped[str | None] = mapped_column(String(512), default=None)
    # The `updated` the server gave: a newer one replaces the picture.
    image_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    visible_in_picker: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_custom_emojis_shortcode_domain", "shortcode", "domain", unique=True),)
