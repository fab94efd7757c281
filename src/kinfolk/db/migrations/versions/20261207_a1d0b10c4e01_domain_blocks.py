"""domain blocks

Servers moderated as a whole: suspended (nothing stored, nothing delivered), silenced, or only
their media or reports rejected. Looked up by exact domain and each parent domain.

Revision ID: a1d0b10c4e01
Revises: e5b9d2c47a13
Create Date: 2026-12-07 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "a1d0b10c4e01"
down_revision: str | Sequence[str] | None = "e5b9d2c47a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = kinfolk.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "domain_blocks",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("reject_media", sa.Boolean(), nullable=False),
        sa.Column("reject_reports", sa.Boolean(), nullable=False),
        sa.Column("private_comment", sa.Text(), nullable=False),
        sa.Column("public_comment", sa.Text(), nullable=False),
        sa.Column("obfuscate", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_blocks")),
        sa.UniqueConstraint("domain", name=op.f("uq_domain_blocks_domain")),
    )


def downgrade() -> None:
    op.drop_table("domain_blocks")
