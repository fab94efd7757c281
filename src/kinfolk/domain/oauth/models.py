"""OAuth 2 applications, access tokens and authorization codes; secrets are kept only as digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id


class Application(Base):
    __tablename__ = "oauth_applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048), default=None)
    # One redirect URI per line, as registered.
    redirect_uris: Mapped[str] = mapped_column(Text, default="urn:ietf:wg:oauth:2.0:oob")
    scopes: Mapped[str] = mapped_column(Text, default="read")
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    # The client secret must be shown again by `POST /api/v1/apps` callers' credentials checks,
    # so it is compared in constant time but stored as given.
    client_secret: Mapped[str] = mapped_column(String(128))
    owner_user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def redirect_uri_list(self) -> list[str]:
        return [line for line in self.redirect_uris.splitlines() if line.strip()]

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AccessToken(Base):
    __tablename__ = "oauth_access_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    application_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("oauth_applications.id", ondelete="CASCADE"), default=None
    )
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    scopes: Mapped[str] = mapped_column(Text, default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_oauth_access_tokens_user_id", "user_id"),)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AuthorizationCode(Base):
    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    application_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("oauth_applications.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
