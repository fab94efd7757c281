"""preview cards

Link preview cards, one per link for the whole server, and the card each status shows.

Revision ID: c4a7e9b1d2f3
Revises: e5d21f9a4c07
Create Date: 2026-12-10 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "c4a7e9b1d2f3"
down_revision: str | Sequence[str] | None = "e5d21f9a4c07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "preview_cards",
        sa.Column("id", _ID, nullable=False),
        sa.Column("link_digest", sa.String(length=64), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("author_url", sa.Text(), nullable=False),
        sa.Column("provider_name", sa.Text(), nullable=False),
        sa.Column("provider_url", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("embed_url", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("published_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("image_remote_url", sa.Text(), nullable=True),
        sa.Column("image_key", sa.String(length=255), nullable=True),
        sa.Column("image_description", sa.Text(), nullable=False),
        sa.Column("blurhash", sa.String(length=255), nullable=True),
        sa.Column("fetched_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preview_cards")),
        sa.UniqueConstraint("link_digest", name=op.f("uq_preview_cards_link_digest")),
    )
    op.create_table(
        "status_preview_cards",
        sa.Column("status_id", _ID, nullable=False),
        sa.Column("card_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["preview_cards.id"],
            name=op.f("fk_status_preview_cards_card_id_preview_cards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_status_preview_cards_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_status_preview_cards")),
    )
    op.create_index(
        op.f("ix_status_preview_cards_card_id"), "status_preview_cards", ["card_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_status_preview_cards_card_id"), table_name="status_preview_cards")
    op.drop_table("status_preview_cards")
    op.drop_table("preview_cards")
