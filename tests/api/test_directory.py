"""The profile directory: who is listed, in which order, and paging by offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, select, update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.accounts.service import NewAccount, create_local_account

URL = "/api/v1/directory"


def names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["username"] for a in response.json()]


async def posted(container: Container, account_id: int, days_ago: int) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(AccountStats)
            .where(AccountStats.account_id == account_id)
            .values(last_status_at=datetime.now(UTC) - timedelta(days=days_ago))
        )


async def test_lists_discoverable_profiles_most_active_first(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    await make_user("alice")
    bob, carol = await make_user("bob"), await make_user("carol")
    await posted(container, bob.account_id, 1)
    await posted(container, carol.account_id, 3)
    response = await client.get(URL)
    assert names(response) == ["bob", "carol", "alice"]  # never posted: last
    assert response.json()[0]["id"] == str(bob.account_id)
    assert "link" not in response.headers
    assert names(await client.get(URL, params={"order": "new"})) == ["carol", "bob", "alice"]
    assert names(await client.get(URL, params={"order": "active", "local": "true"})) == [
        "bob",
        "carol",
        "alice",
    ]
    assert names(await client.get(URL, params={"limit": "1", "offset": "1"})) == ["carol"]
    assert names(await client.get(URL, params={"limit": "2", "offset": "2"})) == ["alice"]
    assert names(await client.get(URL, params={"offset": "junk", "limit": "-1"})) == ["bob"]
    assert (await client.get(URL, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await client.options(URL)).status_code == 204


async def test_leaves_out_who_opted_out_or_was_moderated(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    for name in ("shown", "hidden", "suspended", "silenced", "waiting"):
        await make_user(name)
    async with container.db.uow() as uow:
        session = uow.session

        async def mark(username: str, **values: Any) -> None:
            await session.execute(update(Account).where(Account.username == username).values(**values))

        await mark("hidden", discoverable=False)
        await mark("suspended", suspended_at=datetime.now(UTC))
        await mark("silenced", silenced_at=datetime.now(UTC))
        waiting = select(Account.id).where(Account.username == "waiting").scalar_subquery()
        await session.execute(update(User).where(User.account_id == waiting).values(approved=False))
        await create_local_account(
            session,
            NewAccount(
                username="unconfirmed", email="u@example.com", password="long enough pw", confirmed=False
            ),
            uris=container.uris,
        )
    assert names(await client.get(URL)) == ["shown"]


async def test_viewer_does_not_see_whom_they_shut_out(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await client.post(f"/api/v1/accounts/{bob.account_id}/block", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{alice.account_id}/block", headers=carol.headers)
    await client.post(f"/api/v1/accounts/{dave.account_id}/mute", headers=alice.headers)
    assert names(await client.get(URL, params={"order": "new"}, headers=alice.headers)) == ["alice"]
    assert names(await client.get(URL, params={"order": "new"})) == ["dave", "carol", "bob", "alice"]


async def test_a_page_costs_the_same_queries_whatever_its_size(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    viewer = await make_user("viewer")
    for i in range(7):
        await make_user(f"user{i}")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = container.db.engine.sync_engine
    # Warm: the rate limits' token lookup (kept for a minute) is not part of a page's cost.
    await client.get(URL, params={"limit": "1"}, headers=viewer.headers)
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = await client.get(URL, params={"limit": "1"}, headers=viewer.headers)
        single = len(statements)
        statements.clear()
        eight = await client.get(URL, params={"limit": "8"}, headers=viewer.headers)
        full = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(names(one)) == 1 and len(names(eight)) == 8
    assert full == single
