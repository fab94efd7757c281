"""users by role

The instance API names its first owner as the contact on every request; without this index
each request read the whole users table (10,000 users: 48% of the endpoint's time,
bench/RESULTS.md).

Revision ID: e5b9d2c47a13
Revises: d8a3c5e1f27b
Create Date: 2026-11-28 07:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "e5b9d2c47a13"
down_revision: str | Sequence[str] | None = "d8a3c5e1f27b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_role_created_at", ["role", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_role_created_at")
