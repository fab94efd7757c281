"""The instance actor's key pair: generated once on first use, stored, then only read.

Two processes (or two requests) may find it missing at the same moment; both generate a key
outside any transaction (RSA generation takes tens of milliseconds and must not hold SQLite's
write lock), then insert it if still absent, and both read back the one row that won. Every
caller therefore sees the same key for the life of the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select

from kinfolk.db.database import Database
from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.service import generate_key_pair
from kinfolk.domain.instance.models import InstanceKey

ACTOR_KEY = "actor"


@dataclass(frozen=True)
class KeyPair:
    public_key_pem: str
    private_key_pem: str


async def _read(db: Database, name: str) -> KeyPair | None:
    async with db.uow(write=False) as uow:
        row = await uow.session.get(InstanceKey, name)
        return KeyPair(row.public_key_pem, row.private_key_pem) if row is not None else None


async def instance_key(db: Database, name: str = ACTOR_KEY) -> KeyPair:
    """The stored key pair called `name`, made and stored first if there is none yet."""
    found = await _read(db, name)
    if found is not None:
        return found
    private_pem, public_pem = await asyncio.to_thread(generate_key_pair)
    async with db.uow() as uow:
        stmt = insert_for(uow.session, InstanceKey).values(
            name=name, public_key_pem=public_pem, private_key_pem=private_pem
        )
        await uow.session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        row = (await uow.session.execute(select(InstanceKey).where(InstanceKey.name == name))).scalar_one()
        return KeyPair(row.public_key_pem, row.private_key_pem)
