"""Viewing profiles: GET /api/v1/accounts/:id, ?id[]=, lookup, and batched rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update
from tests.remote import make_remote_account

from kinfolk.api.entities.account import render_accounts
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats, User


async def set_account(container: Container, account_id: int, **values: Any) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(update(Account).where(Account.id == account_id).values(**values))


async def add_remote(container: Container, username: str, domain: str) -> int:
    account = await make_remote_account(
        container,
        username,
        domain,
        display_name="Remote Person",
        note="<p>remote bio</p>",
        avatar_remote_url=f"https://{domain}/avatar.png",
        fields=[{"name": "Site", "value": '<a href="https://x.example">x</a>', "verified_at": None}],
    )
    return account.id


async def test_public_profile_needs_no_token(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    response = await client.get(f"/api/v1/accounts/{alice.account_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(alice.account_id)
    assert body["acct"] == "alice"
    assert "source" not in body and "role" not in body
    assert body["noindex"] is False
    assert "suspended" not in body and "memorial" not in body and "limited" not in body


@pytest.mark.parametrize("bad", ["123", "abc", "-1", "0", "99999999999999999999999", "1.5", "%20"])
async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get(f"/api/v1/accounts/{bad}")
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


async def test_a_sent_token_is_checked(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    url = f"/api/v1/accounts/{alice.account_id}"
    assert (await client.get(url, headers={"Authorization": "Bearer wrong"})).status_code == 401
    writer = await make_user("writer", scopes="write")
    assert (await client.get(url, headers=writer.headers)).status_code == 403
    assert (await client.get(url, headers=alice.headers)).status_code == 200


async def test_counters_and_last_status_date(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(AccountStats)
            .where(AccountStats.account_id == alice.account_id)
            .values(
                statuses_count=7,
                followers_count=3,
                following_count=2,
                last_status_at=datetime(2026, 3, 4, 23, 59, tzinfo=UTC),
            )
        )
    body = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    assert (body["statuses_count"], body["followers_count"], body["following_count"]) == (7, 3, 2)
    assert body["last_status_at"] == "2026-03-04"


async def test_suspended_accounts_are_shown_emptied(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice", role="admin")
    await client.patch(
        "/api/v1/accounts/update_credentials",
        json={
            "display_name": "Alice",
            "note": "bio",
            "locked": True,
            "fields_attributes": [{"name": "a", "value": "b"}],
        },
        headers=alice.headers,
    )
    await set_account(container, alice.account_id, suspended_at=datetime.now(UTC))
    body = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    assert body["suspended"] is True
    assert body["display_name"] == "" and body["note"] == "" and body["fields"] == [] and body["roles"] == []
    assert body["locked"] is False
    assert body["avatar"].endswith("/avatars/original/missing.png")
    assert body["username"] == "alice"


async def test_memorial_and_silenced_flags(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    await set_account(container, alice.account_id, memorial=True, silenced_at=datetime.now(UTC))
    body = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    assert body["memorial"] is True
    assert body["limited"] is True


async def test_unapproved_accounts_are_hidden(client: httpx.AsyncClient, make_user: Any) -> None:
    pending = await make_user("pending", approved=False)
    assert (await client.get(f"/api/v1/accounts/{pending.account_id}")).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "pending"})).status_code == 404


@pytest.mark.parametrize("acct", ["alice", "@alice", "ALICE", "alice@kinfolk.test", "@Alice@KINFOLK.TEST"])
async def test_lookup_local(client: httpx.AsyncClient, make_user: Any, acct: str) -> None:
    alice = await make_user("alice")
    response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert response.status_code == 200, acct
    assert response.json()["id"] == str(alice.account_id)


async def test_lookup_with_a_port_in_the_domain(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("alice")
    container.settings.domain = "kinfolk.test:8443"
    ok = await client.get("/api/v1/accounts/lookup", params={"acct": "alice@kinfolk.test:8443"})
    assert ok.status_code == 200
    assert ok.json()["url"] == "https://kinfolk.test:8443/@alice"


async def test_lookup_misses(client: httpx.AsyncClient, make_user: Any) -> None:
    await make_user("alice")
    for acct in ("alice@elsewhere.example", "nobody", "@", "@@kinfolk.test"):
        response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert response.status_code == 404, acct
    missing = await client.get("/api/v1/accounts/lookup")
    assert missing.status_code == 400
    assert "acct" in missing.json()["error"]


async def test_known_remote_accounts(client: httpx.AsyncClient, container: Container) -> None:
    remote_id = await add_remote(container, "Carol", "remote.example")
    response = await client.get("/api/v1/accounts/lookup", params={"acct": "carol@Remote.Example"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(remote_id)
    assert body["acct"] == "Carol@remote.example"
    assert body["url"] == "https://remote.example/@Carol"
    assert body["uri"] == "https://remote.example/users/Carol"
    assert body["avatar"] == "https://remote.example/avatar.png"
    assert body["header"].endswith("/headers/original/missing.png")
    assert "roles" not in body and "noindex" not in body
    assert body["fields"][0]["name"] == "Site"


async def test_several_accounts_keep_the_order_asked(client: httpx.AsyncClient, make_user: Any) -> None:
    a = await make_user("a")
    b = await make_user("b")
    hidden = await make_user("hidden", approved=False)
    ids = [str(b.account_id), "999", str(a.account_id), str(hidden.account_id), "junk", str(b.account_id)]
    response = await client.get("/api/v1/accounts", params={"id[]": ids})
    assert response.status_code == 200
    assert [x["username"] for x in response.json()] == ["b", "a"]
    too_many = await client.get("/api/v1/accounts", params={"id[]": [str(i + 1) for i in range(41)]})
    assert too_many.status_code == 422


async def test_other_account_paths_are_left_to_their_routes(client: httpx.AsyncClient) -> None:
    # `{id}` only matches digits, so siblings such as relationships never reach the profile route.
    response = await client.get("/api/v1/accounts/relationships")
    assert response.status_code != 500


async def test_rendering_many_accounts_takes_a_fixed_number_of_queries(
    container: Container, make_user: Any
) -> None:
    for name in ("a1", "a2", "a3", "a4", "a5"):
        await make_user(name)
    await add_remote(container, "r1", "remote.example")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    async with container.db.uow(write=False) as uow:
        accounts = list((await uow.session.execute(select(Account).order_by(Account.id))).scalars())
        assert len(accounts) == 6
        event.listen(container.db.engine.sync_engine, "before_cursor_execute", count)
        try:
            rendered = await render_accounts(uow.session, accounts, container)
        finally:
            event.remove(container.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(rendered) == 6
    assert len(statements) == 2


async def test_user_model_has_settings_for_noindex(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(User).where(User.id == alice.user_id).values(settings={"noindex": True})
        )
    assert (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()["noindex"] is True
