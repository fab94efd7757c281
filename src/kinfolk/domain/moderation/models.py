"""Reports filed by people (or, later, by remote servers) against an account and its posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kinfolk.db.base import Base, BigId, UTCDateTime
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

REPORT_CATEGORIES = ("spam", "legal", "violation", "other")


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    # The reporter: a local account, or the instance actor of a remote server that sent a Flag.
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    # Ids of the target's statuses attached for context (they may be deleted later).
    status_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Ids of the server rules cited; None unless the category is "violation" of a local account.
    rule_ids: Mapped[list[int] | None] = mapped_column(JSON(none_as_null=True), default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="other")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    application_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("oauth_applications.id", ondelete="SET NULL"), default=None
    )
    uri: Mapped[str | None] = mapped_column(String(1024), unique=True, default=None)
    action_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    assigned_account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_reports_target_account_id_id", "target_account_id", "id"),
        Index("ix_reports_account_id", "account_id"),
    )

    @property
    def action_taken(self) -> bool:
        return self.action_taken_at is not None


DOMAIN_BLOCK_SEVERITIES = ("suspend", "silence", "noop")


class DomainBlock(Base):
    """A server this instance moderates as a whole (Mastodon's domain blocks).

    `suspend`: nothing from it is stored and nothing is delivered to it; `silence`: its accounts are
    kept off public timelines and out of the notifications of people who don't follow them; `noop`:
    only the flags (`reject_media`, `reject_reports`) apply. A block covers every subdomain.
    """

    __tablename__ = "domain_blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=new_id)
    # IDNA-encoded, lower-case, without a trailing dot (`domain_blocks.normalize_domain`).
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    severity: Mapped[str] = mapped_column(String(16), default="silence")
    reject_media: Mapped[bool] = mapped_column(Boolean, default=False)
    reject_reports: Mapped[bool] = mapped_column(Boolean, default=False)
    private_comment: Mapped[str] = mapped_column(Text, default="")
    public_comment: Mapped[str] = mapped_column(Text, default="")
    obfuscate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
