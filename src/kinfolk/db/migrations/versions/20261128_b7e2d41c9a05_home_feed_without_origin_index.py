"""home feed without the (account_id, origin_account_id) index

Fan-out writes one home_feed row per follower, each in a different page of every index on
the table; this index was one of three such writes per row and about half of a 10,000-follower
fan-out on SQLite (bench/RESULTS.md). Removing a followed account's entries from one feed reads
that feed (at most 800 rows) through the primary key (account_id, status_id) instead.

Revision ID: b7e2d41c9a05
Revises: 5e0c7a91b2d4
Create Date: 2026-11-28 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "b7e2d41c9a05"
down_revision: str | Sequence[str] | None = "5e0c7a91b2d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("home_feed", schema=None) as batch_op:
        batch_op.drop_index("ix_home_feed_account_id_origin_account_id")


def downgrade() -> None:
    with op.batch_alter_table("home_feed", schema=None) as batch_op:
        batch_op.create_index(
            "ix_home_feed_account_id_origin_account_id", ["account_id", "origin_account_id"], unique=False
        )
