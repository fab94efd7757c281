"""inbox activities

Activities received in our inboxes, stored once by their id (a repeat is a no-op) beside the
`federation.ingress` job that processes them.

Revision ID: b7d3e9f1a2c4
Revises: 4f1e8b2c9d07
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "b7d3e9f1a2c4"
down_revision: str | Sequence[str] | None = "4f1e8b2c9d07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_activities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("received_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["accounts.id"],
            name=op.f("fk_inbox_activities_actor_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_activities")),
        sa.UniqueConstraint("uri", name=op.f("uq_inbox_activities_uri")),
    )
    with op.batch_alter_table("inbox_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_activities_actor_id"), ["actor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_activities_actor_id"))
    op.drop_table("inbox_activities")
