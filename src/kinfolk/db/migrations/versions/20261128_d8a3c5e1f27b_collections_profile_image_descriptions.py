"""collections and their items; alt text for avatars and headers; directory index

- `collections`, `collection_items`: Mastodon 4.6's featured collections of accounts.
- `accounts.avatar_description`, `accounts.header_description`: Mastodon 4.4's alt texts.
- an index on `account_stats.last_status_at` for the profile directory's "active" order.

Revision ID: d8a3c5e1f27b
Revises: b7e2d41c9a05
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "d8a3c5e1f27b"
down_revision: str | Sequence[str] | None = "b7e2d41c9a05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = kinfolk.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("account_id", _BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("tag_id", _BIG_ID, nullable=True),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("discoverable", sa.Boolean(), nullable=False),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=True),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_collections_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_collections_tag_id_tags"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("uri", name=op.f("uq_collections_uri")),
    )
    op.create_index("ix_collections_account_id_id", "collections", ["account_id", "id"])

    op.create_table(
        "collection_items",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("collection_id", _BIG_ID, nullable=False),
        sa.Column("account_id", _BIG_ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_collection_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_items")),
        sa.UniqueConstraint(
            "collection_id", "account_id", name=op.f("uq_collection_items_collection_id_account_id")
        ),
    )
    op.create_index("ix_collection_items_account_id_id", "collection_items", ["account_id", "id"])

    op.add_column("accounts", sa.Column("avatar_description", sa.Text(), nullable=False, server_default=""))
    op.add_column("accounts", sa.Column("header_description", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_account_stats_last_status_at", "account_stats", ["last_status_at"])


def downgrade() -> None:
    op.drop_index("ix_account_stats_last_status_at", table_name="account_stats")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("header_description")
        batch.drop_column("avatar_description")
    op.drop_index("ix_collection_items_account_id_id", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_index("ix_collections_account_id_id", table_name="collections")
    op.drop_table("collections")
