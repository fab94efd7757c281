"""`run_typed_in`: a prepared statement's raw values come back as their columns' types say, on
SQLite (0/1, text dates, text JSON) as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, bindparam, exists, select, update

from kinfolk.container import Container
from kinfolk.db.prepared import Prepared, run_in, run_typed_in
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.service import NewAccount, create_local_account

ACCOUNT_ID = bindparam("account_id", type_=BigInteger())
SILENCED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

TYPED = Prepared(
    select(
        Account.locked,
        Account.bot,
        Account.created_at,
        Account.silenced_at,
        Account.suspended_at,
        Account.fields,
        Account.username,
        exists().where(Account.id == ACCOUNT_ID),
    ).where(Account.id == ACCOUNT_ID)
)


async def _account(container: Container) -> int:
    async with container.db.uow() as uow:
        account, _ = await create_local_account(
            uow.session,
            NewAccount(username="alice", email="alice@example.com", password="long enough"),
            uris=container.uris,
        )
        await uow.session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(locked=True, silenced_at=SILENCED, fields=[{"name": "site", "value": "example"}])
        )
        return account.id


async def test_values_come_back_as_their_types(container: Container) -> None:
    account_id = await _account(container)
    async with container.db.uow(write=False) as uow:
        created_at = (await uow.session.get(Account, account_id)).created_at  # type: ignore[union-attr]
        rows = await run_typed_in(uow.session, TYPED, {"account_id": account_id})
    assert rows == [
        (True, False, created_at, SILENCED, None, [{"name": "site", "value": "example"}], "alice", True)
    ]
    locked, bot, created, silenced, suspended, fields, _, found = rows[0]
    assert isinstance(fields, list)
    assert locked is True and bot is False and found is True and suspended is None
    assert isinstance(created, datetime) and created.tzinfo is not None
    assert silenced.utcoffset().total_seconds() == 0


async def test_the_same_statement_runs_raw_and_typed(container: Container) -> None:
    account_id = await _account(container)
    async with container.db.uow(write=False) as uow:
        raw = await run_in(uow.session, TYPED, {"account_id": account_id})
        typed = await run_typed_in(uow.session, TYPED, {"account_id": account_id})
        missing = await run_typed_in(uow.session, TYPED, {"account_id": account_id + 1})
    assert len(raw) == len(typed) == 1 and raw[0][6] == typed[0][6] == "alice"
    assert missing == []
