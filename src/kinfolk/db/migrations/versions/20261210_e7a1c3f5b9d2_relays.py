"""relays

The relays the instance actor subscribes to (`kinfolk relays`), with the state of its Follow.

Revision ID: e7a1c3f5b9d2
Revises: e7f1a2b3c4d5
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "e7a1c3f5b9d2"
down_revision: str | Sequence[str] | None = "e7f1a2b3c4d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("inbox_url", sa.String(length=1024), nullable=False),
        sa.Column("actor_uri", sa.String(length=1024), nullable=True),
        sa.Column("follows_actor", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("follow_activity_id", sa.String(length=1024), nullable=True),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relays")),
        sa.UniqueConstraint("inbox_url", name=op.f("uq_relays_inbox_url")),
        sa.UniqueConstraint("follow_activity_id", name=op.f("uq_relays_follow_activity_id")),
    )
    op.create_index(op.f("ix_relays_actor_uri"), "relays", ["actor_uri"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_relays_actor_uri"), table_name="relays")
    op.drop_table("relays")
