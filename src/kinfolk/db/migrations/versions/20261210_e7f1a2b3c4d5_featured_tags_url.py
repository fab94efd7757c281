"""accounts.featured_tags_url

A remote actor's `featuredTags` collection, kept beside its `featured` one, so the hashtags it
features on its profile can be read and refreshed.

Revision ID: e7f1a2b3c4d5
Revises: c4a7e9b1d2f3
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7f1a2b3c4d5"
down_revision: str | Sequence[str] | None = "c4a7e9b1d2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("featured_tags_url", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("featured_tags_url")
