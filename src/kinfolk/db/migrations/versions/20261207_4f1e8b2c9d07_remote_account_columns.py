"""remote account columns

What a remote actor document carries that the accounts table had no place for, so that
`domain/accounts/remote.upsert_remote_account` can keep it: the following and featured
collections, the key's own id (the signatures name it, not the actor), `alsoKnownAs`,
`movedTo`, and when the actor was last fetched and last found through WebFinger (refreshed
when older than a day, on contact).

Revision ID: 4f1e8b2c9d07
Revises: f1c2a3b4d5e6
Create Date: 2026-12-07 19:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kinfolk.db.base import UTCDateTime

revision: str = "4f1e8b2c9d07"
down_revision: str | Sequence[str] | None = "f1c2a3b4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("following_url", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("featured_url", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("public_key_id", sa.String(length=1024), nullable=True))
        batch_op.add_column(
            sa.Column("also_known_as", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("moved_to_uri", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("fetched_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_webfingered_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_accounts_public_key_id", ["public_key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_public_key_id")
        for column in (
            "last_webfingered_at",
            "fetched_at",
            "moved_to_uri",
            "also_known_as",
            "public_key_id",
            "featured_url",
            "following_url",
        ):
            batch_op.drop_column(column)
