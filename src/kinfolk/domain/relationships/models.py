"""Who follows, blocks, mutes, notes or endorses whom; and user-level domain blocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

_ACCOUNT_FK = "accounts.id"


class Follow(Base):
    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_follows_target_account_id_id", "target_account_id", "id"),
        Index("ix_follows_account_id_id", "account_id", "id"),
    )


class FollowRequest(Base):
    __tablename__ = "follow_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_follow_requests_target_account_id_id", "target_account_id", "id"),
    )


class Block(Base):
    __tablename__ = "blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_blocks_target_account_id", "target_account_id"),
    )


class Mute(Base):
    __tablename__ = "mutes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    hide_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "target_account_id"),
        Index("ix_mutes_target_account_id", "target_account_id"),
    )


class AccountNote(Base):
    __tablename__ = "account_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)


class AccountPin(Base):
    """Endorsements: accounts featured on a profile."""

    __tablename__ = "account_pins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)


class AccountDomainBlock(Base):
    __tablename__ = "account_domain_blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "domain"),)
