"""instance keys

The instance actor (`/actor`) signs fetches with a key of its own, generated once on first use
and kept here so that it survives restarts and is the same in every process.

Revision ID: f1c2a3b4d5e6
Revises: a1d0b10c4e01
Create Date: 2026-12-07 19:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "f1c2a3b4d5e6"
down_revision: str | Sequence[str] | None = "a1d0b10c4e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instance_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_keys")),
    )


def downgrade() -> None:
    op.drop_table("instance_keys")
