"""custom emojis

`custom_emojis`: one row per (shortcode, domain), with the remote picture's URL and our copy.

Revision ID: c3e5a7b9d1f2
Revises: d3e1a7c5b9f2
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "c3e5a7b9d1f2"
down_revision: str | Sequence[str] | None = "d3e1a7c5b9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_emojis",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shortcode", sa.String(length=128), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("uri", sa.String(length=1024), nullable=True),
        sa.Column("image_remote_url", sa.Text(), nullable=True),
        sa.Column("image_key", sa.String(length=512), nullable=True),
        sa.Column("image_static_key", sa.String(length=512), nullable=True),
        sa.Column("image_updated_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("visible_in_picker", sa.Boolean(), nullable=False),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_emojis")),
    )
    op.create_index(
        "ix_custom_emojis_shortcode_domain", "custom_emojis", ["shortcode", "domain"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_custom_emojis_shortcode_domain", table_name="custom_emojis")
    op.drop_table("custom_emojis")
