"""tombstones

Ids of deleted remote statuses, so that a `Create` delivered after its `Delete` stores nothing.

Revision ID: b2c4d6e8f0a1
Revises: b7d3e9f1a2c4
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "b2c4d6e8f0a1"
down_revision: str | Sequence[str] | None = "b7d3e9f1a2c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_tombstones_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uri", name=op.f("pk_tombstones")),
    )
    op.create_index(op.f("ix_tombstones_account_id"), "tombstones", ["account_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tombstones_account_id"), table_name="tombstones")
    op.drop_table("tombstones")
