"""delivery hosts

Per-domain delivery health: failing days and when a domain was judged unavailable, so that
deliveries to a server gone for a week are skipped instead of retried for ever.

Revision ID: b7d4e2a91c55
Revises: b2c4d6e8f0a1
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "b7d4e2a91c55"
down_revision: str | Sequence[str] | None = "b2c4d6e8f0a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_hosts",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("failing_since", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failure_days", sa.Integer(), nullable=False),
        sa.Column("unavailable_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_delivery_hosts")),
    )


def downgrade() -> None:
    op.drop_table("delivery_hosts")
