"""Accounts (local and, later, remote actors), their counters, and the users who log in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

ROLES = ("owner", "admin", "moderator", "user")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(255))
    # None for local accounts; the lower-cased host of remote ones.
    domain: Mapped[str | None] = mapped_column(String(255), default=None)
    # lower(username)@domain, or lower(username)@ for local: one unique handle per actor.
    acct_key: Mapped[str] = mapped_column(String(520), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    note_source: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    avatar_key: Mapped[str | None] = mapped_column(String(512), default=None)
    header_key: Mapped[str | None] = mapped_column(String(512), default=None)
    avatar_remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    header_remote_url: Mapped[str | None] = mapped_column(Text, default=None)
    # Alt text of the avatar and header (Mastodon 4.4+).
    avatar_description: Mapped[str] = mapped_column(Text, default="", server_default="")
    header_description: Mapped[str] = mapped_column(Text, default="", server_default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    group: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    indexable: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_collections: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_type: Mapped[str] = mapped_column(String(32), default="Person")
    uri: Mapped[str | None] = mapped_column(String(1024), default=None, unique=True)
    url: Mapped[str | None] = mapped_column(String(1024), default=None)
    inbox_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    outbox_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    shared_inbox_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    followers_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    following_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    featured_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    featured_tags_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    # The id of the actor's key (`publicKey.id`): signatures name the key, not the actor.
    public_key_id: Mapped[str | None] = mapped_column(String(1024), default=None)
    also_known_as: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    moved_to_uri: Mapped[str | None] = mapped_column(String(1024), default=None)
    # Remote accounts: when the actor document and the WebFinger answer were last read.
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_webfingered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    public_key_pem: Mapped[str] = mapped_column(Text, default="")
    private_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    # The Ed25519 key beside the RSA one (FEP-521a `assertionMethod`, RFC 9421 `ed25519`): its
    # public half as a Multikey `publicKeyMultibase` ("z6Mk..."); the key id for a remote actor
    # (a local one's is `Uris.ed25519_key_id`); the private half (PKCS#8 PEM) for a local one.
    ed25519_key_id: Mapped[str | None] = mapped_column(String(1024), default=None)
    ed25519_public_key: Mapped[str | None] = mapped_column(String(128), default=None)
    ed25519_private_key: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    silenced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Deleted for good (domain/accounts/deletion.py): always suspended too, so every listing that
    # hides suspended accounts hides it; this tells "gone" (410, 404) from "suspended".
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    memorial: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_accounts_domain_username", "domain", "username"),
        Index("ix_accounts_public_key_id", "public_key_id"),
        Index("ix_accounts_ed25519_key_id", "ed25519_key_id"),
    )

    @property
    def is_local(self) -> bool:
        return self.domain is None

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


class AccountStats(Base):
    """Counters kept beside the account so that hot account rows are not rewritten on every post."""

    __tablename__ = "account_stats"

    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    statuses_count: Mapped[int] = mapped_column(default=0)
    followers_count: Mapped[int] = mapped_column(default=0)
    following_count: Mapped[int] = mapped_column(default=0)
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # The profile directory's "active" order.
    __table_args__ = (Index("ix_account_stats_last_status_at", "last_status_at"),)


class User(Base):
    """A person who logs in to a local account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="user")
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    sign_up_ip: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Posting defaults and client preferences (privacy, sensitive, language, expand_media, ...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # Staff by role, oldest first: the instance API's contact is the first owner.
    __table_args__ = (Index("ix_users_role_created_at", "role", "created_at", "id"),)

    @property
    def is_staff(self) -> bool:
        return self.role in ("owner", "admin", "moderator")

    @property
    def can_log_in(self) -> bool:
        return self.approved and not self.disabled
