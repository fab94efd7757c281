"""feed rows by status: who holds a status in their home or list feed

Deleting or editing a status tells every feed that shows it; without these indexes each of
those lookups scanned the whole feed table.

Revision ID: 5e0c7a91b2d4
Revises: c3f1a9d2e7b4
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "5e0c7a91b2d4"
down_revision: str | Sequence[str] | None = "c3f1a9d2e7b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("home_feed", schema=None) as batch_op:
        batch_op.create_index("ix_home_feed_status_id", ["status_id"], unique=False)
    with op.batch_alter_table("list_feed", schema=None) as batch_op:
        batch_op.create_index("ix_list_feed_status_id", ["status_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_feed", schema=None) as batch_op:
        batch_op.drop_index("ix_list_feed_status_id")
    with op.batch_alter_table("home_feed", schema=None) as batch_op:
        batch_op.drop_index("ix_home_feed_status_id")
