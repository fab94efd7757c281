from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.service import NewAccount, create_local_account


async def test_migrated_schema_accepts_an_account(container: Container) -> None:
    async with container.db.uow() as uow:
        account, user = await create_local_account(
            uow.session,
            NewAccount(username="alice", email="Alice@Example.com", password="long enough"),
            uris=container.uris,
        )
    async with container.db.uow(write=False) as uow:
        stored = await uow.session.get(Account, account.id)
        assert stored is not None
        assert stored.username == "alice"
        assert stored.created_at.tzinfo is not None
        assert "BEGIN PUBLIC KEY" in stored.public_key_pem
    assert user.email == "alice@example.com"


async def test_failed_unit_of_work_leaves_nothing(container: Container) -> None:
    try:
        async with container.db.uow() as uow:
            await create_local_account(
                uow.session,
                NewAccount(username="bob", email="bob@example.com", password="long enough"),
                uris=container.uris,
            )
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with container.db.uow(write=False) as uow:
        count = (await uow.session.execute(select(func.count()).select_from(Account))).scalar_one()
    assert count == 0


async def test_web_side_leaves_wal_checkpoints_to_the_worker(tmp_path: Path) -> None:
    """`kinfolk serve`'s web connections checkpoint only past a large WAL; others at SQLite's
    default, so that a fan-out's checkpoint runs in the worker's commit, not in a request's."""
    from sqlalchemy import text

    from kinfolk.db.database import DEFERRED_CHECKPOINT_PAGES, Database

    url = f"sqlite+aiosqlite:///{tmp_path / 'ckpt.sqlite3'}"
    for checkpoints, expected in ((True, 1000), (False, DEFERRED_CHECKPOINT_PAGES)):
        db = Database(url, checkpoints=checkpoints)
        try:
            async with db.uow(write=False) as uow:
                pages = (await uow.session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
            assert pages == expected
        finally:
            await db.dispose()
