"""accounts.deleted_at

When an account was deleted for good (its owner deleted it, or a remote actor deleted itself).
The row stays as a reserved name (and, for a local account, the key that signs its `Delete`),
and everything that reads accounts for the outside answers as for an unknown one.

Revision ID: d3e1a7c5b9f2
Revises: b7d4e2a91c55
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "d3e1a7c5b9f2"
down_revision: str | Sequence[str] | None = "b7d4e2a91c55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("deleted_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("deleted_at")
