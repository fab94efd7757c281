"""The remote-account upsert: by id, then by handle (the newest actor owns a handle), with its
counters row, bounded, and never over a local account."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests.remote import make_remote_account

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.accounts.remote import (
    MAX_FIELDS,
    RemoteAccountData,
    RemoteAccountRefused,
    upsert_remote_account,
)
from kinfolk.domain.accounts.repo import get_by_username


def _data(**values: Any) -> RemoteAccountData:
    base: dict[str, Any] = {
        "uri": "https://remote.example/users/bob",
        "username": "bob",
        "domain": "remote.example",
    }
    return RemoteAccountData(**{**base, **values})


async def _upsert(container: Container, data: RemoteAccountData) -> Account:
    async with container.db.uow() as uow:
        return await upsert_remote_account(uow, data)


async def _stats(container: Container, account_id: int) -> AccountStats:
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, account_id)
        assert stats is not None
        return stats


async def _accounts(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Account))).scalar_one())


async def test_insert_then_refresh_keeps_one_row_with_its_counters(container: Container) -> None:
    first = await _upsert(
        container,
        _data(
            display_name="Bob",
            following_url="https://remote.example/users/bob/following",
            featured_url="https://remote.example/users/bob/collections/featured",
            public_key_id="https://remote.example/users/bob#main-key",
            also_known_as=["https://old.example/users/bob"],
            followers_count=10,
            following_count=3,
            statuses_count=42,
        ),
    )
    assert first.acct == "bob@remote.example" and first.acct_key == "bob@remote.example"
    assert first.fetched_at is not None and first.also_known_as == ["https://old.example/users/bob"]
    stats = await _stats(container, first.id)
    assert (stats.followers_count, stats.following_count, stats.statuses_count) == (10, 3, 42)

    again = await _upsert(container, _data(display_name="Robert", locked=True, followers_count=11))
    assert again.id == first.id and again.display_name == "Robert" and again.locked is True
    stats = await _stats(container, first.id)
    assert (stats.followers_count, stats.following_count, stats.statuses_count) == (11, 3, 42)
    assert await _accounts(container) == 1


async def test_a_handle_given_to_a_new_actor_follows_the_newest(container: Container) -> None:
    old = await _upsert(container, _data())
    # The same handle now answers with another id: the row is found by handle and takes it.
    moved = await _upsert(container, _data(uri="https://remote.example/ap/users/7"))
    assert moved.id == old.id and moved.uri == "https://remote.example/ap/users/7"
    # An actor known by id that now claims a handle another row holds takes the handle.
    carol = await _upsert(container, _data(uri="https://remote.example/users/carol", username="carol"))
    renamed = await _upsert(container, _data(uri="https://remote.example/users/carol", username="Bob"))
    assert renamed.id == carol.id and renamed.username == "Bob"
    async with container.db.uow(write=False) as uow:
        found = await get_by_username(uow.session, "bob", "remote.example")
        previous = await uow.session.get(Account, old.id)
    assert found is not None and found.id == carol.id
    assert previous is not None and previous.uri == "https://remote.example/ap/users/7"
    assert previous.acct_key != "bob@remote.example"
    assert await _accounts(container) == 2


async def test_a_local_account_is_never_touched(container: Container, make_user: Any) -> None:
    alice = await make_user("alice")
    async with container.db.uow(write=False) as uow:
        local = await uow.session.get(Account, alice.account_id)
        assert local is not None
    local_uri = local.uri or "https://kinfolk.test/users/alice"
    async with container.db.uow() as uow:
        await uow.session.execute(
            Account.__table__.update().where(Account.id == local.id).values(uri=local_uri)
        )
    with pytest.raises(RemoteAccountRefused):
        await _upsert(container, _data(uri=local_uri, username="mallory", display_name="Not Alice"))
    async with container.db.uow(write=False) as uow:
        kept = await uow.session.get(Account, alice.account_id)
    assert kept is not None and kept.domain is None and kept.display_name == local.display_name
    assert await _accounts(container) == 1


@pytest.mark.parametrize(
    "values",
    [
        {"uri": ""},
        {"username": ""},
        {"username": "a@b"},
        {"domain": "remote.example/path"},
        {"inbox_url": "https://remote.example/" + "i" * 1100},
        {"note": "x" * 200_001},
    ],
)
async def test_bad_actors_are_refused_and_nothing_is_stored(
    container: Container, values: dict[str, Any]
) -> None:
    with pytest.raises(RemoteAccountRefused):
        await _upsert(container, _data(**values))
    assert await _accounts(container) == 0


async def test_sizes_are_bounded(container: Container) -> None:
    account = await _upsert(
        container,
        _data(
            domain="Remote.Example.",
            display_name="B" * 1000,
            fields=[{"name": f"n{i}", "value": "v" * 5000} for i in range(50)],
            also_known_as=[f"https://remote.example/{i}" for i in range(100)],
            followers_count=-5,
            actor_type="Hacker",
        ),
    )
    assert account.domain == "remote.example"
    assert len(account.display_name) == 255
    assert len(account.fields) == MAX_FIELDS and all(len(f["value"]) <= 2047 for f in account.fields)
    assert len(account.also_known_as) == 20
    assert account.actor_type == "Person"
    assert (await _stats(container, account.id)).followers_count == 0


async def test_the_fixture_makes_remote_accounts_through_the_upsert(container: Container) -> None:
    bob = await make_remote_account(container, "bob", "remote.example", bot=True)
    assert bob.uri == "https://remote.example/users/bob" and bob.bot is True
    assert bob.public_key_id == "https://remote.example/users/bob#main-key"
    assert (await _stats(container, bob.id)).statuses_count == 0
