"""Ed25519 keys on accounts, and the HTTP signature each remote host accepts

`accounts.ed25519_*`: the Ed25519 key published beside the RSA one as a FEP-521a
`assertionMethod` Multikey (local accounts: both halves; remote actors: the key id and public
half, so an RFC 9421 `ed25519` signature naming it verifies). Existing local accounts get theirs
here (an Ed25519 key costs microseconds to make).

`signature_hosts`: which signature (draft-cavage or RFC 9421) a host accepted last, learnt by
double-knocking.

Revision ID: e5d21f9a4c07
Revises: c3e5a7b9d1f2
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "e5d21f9a4c07"
down_revision: str | Sequence[str] | None = "c3e5a7b9d1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("ed25519_key_id", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("ed25519_public_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("ed25519_private_key", sa.Text(), nullable=True))
        batch.create_index("ix_accounts_ed25519_key_id", ["ed25519_key_id"])
    op.create_table(
        "signature_hosts",
        sa.Column("domain", sa.String(length=255), primary_key=True),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("updated_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
    )
    # Imported here so that reading the migration list does not load the key code.
    from kinfolk.kernel.multikey import generate_ed25519_key

    bind = op.get_bind()
    accounts = sa.table(
        "accounts",
        sa.column("id", sa.BigInteger()),
        sa.column("domain", sa.String()),
        sa.column("ed25519_public_key", sa.String()),
        sa.column("ed25519_private_key", sa.Text()),
    )
    local = bind.execute(
        sa.select(accounts.c.id).where(accounts.c.domain.is_(None), accounts.c.ed25519_private_key.is_(None))
    ).scalars()
    for account_id in list(local):
        private_pem, multibase = generate_ed25519_key()
        bind.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(ed25519_private_key=private_pem, ed25519_public_key=multibase)
        )


def downgrade() -> None:
    op.drop_table("signature_hosts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_ed25519_key_id")
        batch.drop_column("ed25519_private_key")
        batch.drop_column("ed25519_public_key")
        batch.drop_column("ed25519_key_id")
