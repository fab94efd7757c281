"""The migration that adds Ed25519 keys gives every existing local account one, on both
databases (accounts made afterwards get theirs at creation)."""

from __future__ import annotations

import asyncio

from alembic import command
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select, update

from kinfolk.container import Container
from kinfolk.db.migrate import alembic_config, upgrade
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.kernel.multikey import ed25519_from_multibase, ed25519_multibase


async def test_existing_local_accounts_get_an_ed25519_key(container: Container, db_url: str) -> None:
    async with container.db.uow() as uow:
        account, _ = await create_local_account(
            uow.session,
            NewAccount(username="olde", email="olde@example.com", password="long enough"),
            uris=container.uris,
        )
    async with container.db.uow(write=False) as uow:
        made = await uow.session.get(Account, account.id)
        assert made is not None and made.ed25519_public_key and made.ed25519_private_key  # at creation
    async with container.db.uow() as uow:  # as if made before the migration
        await uow.session.execute(
            update(Account).values(ed25519_public_key=None, ed25519_private_key=None, ed25519_key_id=None)
        )
    await container.db.dispose()
    config = alembic_config(db_url)
    try:
        await asyncio.to_thread(command.downgrade, config, "c3e5a7b9d1f2")
    finally:
        await asyncio.to_thread(upgrade, db_url)
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(Account).where(Account.domain.is_(None)))).scalars().all()
    assert [row.username for row in rows] == ["olde"]
    [row] = rows
    assert row.ed25519_public_key is not None and row.ed25519_private_key is not None
    assert row.ed25519_key_id is None  # a local key's id comes from Uris
    private = serialization.load_pem_private_key(row.ed25519_private_key.encode(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert ed25519_multibase(private.public_key()) == row.ed25519_public_key
    assert ed25519_from_multibase(row.ed25519_public_key) is not None
