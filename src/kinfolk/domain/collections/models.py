"""Collections ("featured collections", Mastodon 4.6): an account's curated, public lists of
accounts it recommends following, and the items that put an account in one.

An item has a state because the featured account has a say: a local account that allows being
featured is accepted at once; one can later revoke its inclusion (the item stays, revoked, so
that the owner cannot simply add it again unnoticed). Remote items would wait (`pending`) for
the other server's approval once collections federate.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
REVOKED = "revoked"
ITEM_STATES = (PENDING, ACCEPTED, REJECTED, REVOKED)
# Items that still count: shown to the owner and counted in `item_count`.
LIVE_STATES = (PENDING, ACCEPTED)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    tag_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tags.id", ondelete="SET NULL"), default=None
    )
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=False)
    local: Mapped[bool] = mapped_column(Boolean, default=True)
    # ActivityPub id and page of remote collections; derived for local ones.
    uri: Mapped[str | None] = mapped_column(String(1024), default=None, unique=True)
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    # Pending and accepted items, kept by the service like a counter cache.
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # An account's collections, newest first (snowflake ids follow creation time).
    __table_args__ = (Index("ix_collections_account_id_id", "account_id", "id"),)


class CollectionItem(Base):
    __tablename__ = "collection_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    collection_id: Mapped[int] = mapped_column(BigId, ForeignKey("collections.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    position: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("collection_id", "account_id"),
        # The collections an account is featured in, in the order it was added to them.
        Index("ix_collection_items_account_id_id", "account_id", "id"),
    )
