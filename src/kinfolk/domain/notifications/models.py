"""Notifications, the per-user policy that filters them, requests, and Web Push subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime

# admin.report notifications point at a report: its table must be in the metadata too.
from kinfolk.domain.moderation import models as _moderation  # noqa: F401
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

_ACCOUNT_FK = "accounts.id"

NOTIFICATION_TYPES = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "quote",
    "quoted_update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    status_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), default=None
    )
    # The report an admin.report notification is about.
    report_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("reports.id", ondelete="CASCADE"), default=None
    )
    # Grouped notifications (v2): favourites and reblogs of one status, follows of one day, ...
    group_key: Mapped[str] = mapped_column(String(128))
    # Held back by the notification policy until the user accepts the request.
    filtered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_notifications_account_id_id", "account_id", "id"),
        Index("ix_notifications_account_id_group_key", "account_id", "group_key"),
        Index("ix_notifications_from_account_id", "from_account_id"),
        Index("ix_notifications_report_id", "report_id"),
    )


class NotificationPolicy(Base):
    __tablename__ = "notification_policies"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    # accept | filter | drop, for each category Mastodon 4.3+ knows.
    for_not_following: Mapped[str] = mapped_column(String(8), default="accept")
    for_not_followers: Mapped[str] = mapped_column(String(8), default="accept")
    for_new_accounts: Mapped[str] = mapped_column(String(8), default="accept")
    for_private_mentions: Mapped[str] = mapped_column(String(8), default="filter")
    for_limited_accounts: Mapped[str] = mapped_column(String(8), default="filter")


class NotificationRequest(Base):
    __tablename__ = "notification_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    from_account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    last_status_id: Mapped[int | None] = mapped_column(BigId, default=None)
    notifications_count: Mapped[int] = mapped_column(default=0)
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "from_account_id"),
        Index("ix_notification_requests_account_id_id", "account_id", "id"),
    )


class NotificationPermission(Base):
    """An accepted request: the sender's notifications always pass the recipient's policy."""

    __tablename__ = "notification_permissions"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    from_account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushSubscription(Base):
    """One Web Push subscription per access token, as Mastodon keys them."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    access_token_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("oauth_access_tokens.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text)
    key_p256dh: Mapped[str] = mapped_column(String(255))
    key_auth: Mapped[str] = mapped_column(String(255))
    alerts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # all | followed | follower | none
    policy: Mapped[str] = mapped_column(String(16), default="all")
    standard: Mapped[bool] = mapped_column(Boolean, default=False)
    # The subscribing access token, encrypted with the server's secret: Mastodon's push payload
    # carries it (only digests of tokens are kept otherwise).
    access_token_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
