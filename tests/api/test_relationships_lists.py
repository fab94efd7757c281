"""Paged lists (followers, following, requests, blocks, mutes, domain blocks), familiar followers
and account search."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select
from tests.remote import make_remote_account

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.relationships.models import AccountDomainBlock, Block, Follow, FollowRequest, Mute
from kinfolk.jobs.models import Job
from kinfolk.kernel.clock import utcnow

API = "/api/v1/accounts"
_LINK_RE = re.compile(r'<([^>]+)>; rel="(\w+)"')


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in _LINK_RE.findall(response.headers.get("link", ""))}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()]


async def plain_accounts(container: Container, *names: str, **kw: Any) -> list[int]:
    """Local accounts without keys or tokens (with a bare user): cheap rows to list and search.
    Remote ones come from `tests.remote`, through the federation upsert."""
    async with container.db.uow() as uow:
        rows = [Account(username=n, acct_key=f"{n.lower()}@", **kw) for n in names]
        uow.session.add_all(rows)
        await uow.session.flush()
        for row in rows:
            uow.session.add(AccountStats(account_id=row.id))
            uow.session.add(User(account_id=row.id, email=f"{row.username}@example.com", password_hash="-"))
        return [r.id for r in rows]


async def add_rows(container: Container, *rows: Any) -> None:
    async with container.db.uow() as uow:
        for row in rows:
            uow.session.add(row)
            await uow.session.flush()


# -- followers and following ----------------------------------------------------------------


async def test_followers_paginate_across_three_pages_with_links(client, container, make_user) -> None:
    bob = await make_user("bob")
    fans = await plain_accounts(container, "f1", "f2", "f3", "f4", "f5")
    await add_rows(container, *(Follow(account_id=f, target_account_id=bob.account_id) for f in fans))

    r1 = await client.get(f"{API}/{bob.account_id}/followers", params={"limit": 2})
    assert ids(r1) == [str(fans[4]), str(fans[3])]  # newest follow first
    l1 = links(r1)
    assert set(l1) == {"next", "prev"}
    assert l1["next"].startswith(f"https://kinfolk.test{API}/{bob.account_id}/followers?")
    assert "limit=2" in l1["next"] and "max_id=" in l1["next"]
    assert "min_id=" in l1["prev"]

    r2 = await client.get(l1["next"])
    assert ids(r2) == [str(fans[2]), str(fans[1])]
    r3 = await client.get(links(r2)["next"])
    assert ids(r3) == [str(fans[0])]
    assert set(links(r3)) == {"prev"}  # a short page is the last

    # Back from page 2 to page 1.
    back = await client.get(links(r2)["prev"])
    assert ids(back) == [str(fans[4]), str(fans[3])]

    # The cursors are follow ids, not account ids.
    async with container.db.uow(write=False) as uow:
        follow_ids = (await uow.session.execute(select(Follow.id).order_by(Follow.id))).scalars().all()
    assert f"max_id={follow_ids[3]}" in l1["next"]

    # An empty page has no Link header.
    r = await client.get(f"{API}/{bob.account_id}/followers", params={"max_id": follow_ids[0]})
    assert r.json() == [] and "link" not in r.headers

    r = await client.get(f"{API}/{bob.account_id}/following")
    assert r.json() == []
    r = await client.get(f"{API}/{fans[0]}/following")
    assert ids(r) == [str(bob.account_id)]


async def test_follower_lists_hidden_and_filtered(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    fan, muted, suspended = await plain_accounts(container, "fan", "muted", "gone")
    await add_rows(
        container,
        *(Follow(account_id=a, target_account_id=bob.account_id) for a in (fan, muted, suspended)),
        Mute(account_id=alice.account_id, target_account_id=muted),
    )
    async with container.db.uow() as uow:
        gone = await uow.session.get(Account, suspended)
        assert gone is not None
        gone.suspended_at = utcnow()

    # Suspended followers never show; the viewer's mutes are left out for the viewer only.
    assert set(ids(await client.get(f"{API}/{bob.account_id}/followers"))) == {str(fan), str(muted)}
    r = await client.get(f"{API}/{bob.account_id}/followers", headers=alice.headers)
    assert ids(r) == [str(fan)]
    r = await client.get(f"{API}/{bob.account_id}/followers", headers=bob.headers)
    assert set(ids(r)) == {str(fan), str(muted)}

    # hide_collections: empty for everyone but the owner.
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, bob.account_id)
        assert account is not None
        account.hide_collections = True
    assert (await client.get(f"{API}/{bob.account_id}/followers", headers=alice.headers)).json() == []
    assert (await client.get(f"{API}/{bob.account_id}/followers")).json() == []
    assert len((await client.get(f"{API}/{bob.account_id}/followers", headers=bob.headers)).json()) == 2
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, bob.account_id)
        assert account is not None
        account.hide_collections = False

    # Blocking the account does not hide its lists from the blocker; being blocked by it does.
    await add_rows(container, Block(account_id=alice.account_id, target_account_id=bob.account_id))
    assert ids(await client.get(f"{API}/{bob.account_id}/followers", headers=alice.headers)) == [str(fan)]
    await add_rows(container, Block(account_id=bob.account_id, target_account_id=alice.account_id))
    assert (await client.get(f"{API}/{bob.account_id}/followers", headers=alice.headers)).json() == []
    assert (await client.get(f"{API}/{bob.account_id}/following", headers=alice.headers)).json() == []


async def test_follower_list_errors(client, make_user) -> None:
    bob = await make_user("bob")
    r = await client.get(f"{API}/424242/followers")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    r = await client.get(f"{API}/{bob.account_id}/followers", params={"max_id": "abc"})
    assert r.status_code == 400 and "error" in r.json()
    r = await client.get(f"{API}/{bob.account_id}/followers", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    writer = await make_user("writer", scopes="write")
    r = await client.get(f"{API}/{bob.account_id}/followers", headers=writer.headers)
    assert r.status_code == 403


# -- own lists ------------------------------------------------------------------------------


async def test_blocks_mutes_and_requests_are_paged_by_row(client, container, make_user) -> None:
    alice = await make_user("alice")
    a, b, c = await plain_accounts(container, "a", "b", "c")
    await add_rows(
        container,
        # Blocked in the order c, a, b: the list follows the block rows, not the account ids.
        Block(account_id=alice.account_id, target_account_id=c),
        Block(account_id=alice.account_id, target_account_id=a),
        Block(account_id=alice.account_id, target_account_id=b),
        Mute(account_id=alice.account_id, target_account_id=a),
        Mute(account_id=alice.account_id, target_account_id=b),
        FollowRequest(account_id=a, target_account_id=alice.account_id),
        FollowRequest(account_id=c, target_account_id=alice.account_id),
    )
    r = await client.get("/api/v1/blocks", params={"limit": 2}, headers=alice.headers)
    assert ids(r) == [str(b), str(a)]
    r2 = await client.get(links(r)["next"], headers=alice.headers)
    assert ids(r2) == [str(c)]

    r = await client.get("/api/v1/mutes", params={"limit": 1}, headers=alice.headers)
    assert ids(r) == [str(b)]
    assert r.json()[0]["mute_expires_at"] is None
    assert ids(await client.get(links(r)["next"], headers=alice.headers)) == [str(a)]

    r = await client.get("/api/v1/follow_requests", headers=alice.headers)
    assert ids(r) == [str(c), str(a)]

    for path in ("/api/v1/blocks", "/api/v1/mutes", "/api/v1/follow_requests"):
        assert (await client.get(path)).status_code == 401
    # The narrow scope is enough for its own list.
    blocks_only = await make_user("blocks", scopes="read:blocks")
    assert (await client.get("/api/v1/blocks", headers=blocks_only.headers)).status_code == 200
    statuses_only = await make_user("reader", scopes="read:statuses")
    for path in ("/api/v1/blocks", "/api/v1/mutes", "/api/v1/follow_requests", "/api/v1/domain_blocks"):
        assert (await client.get(path, headers=statuses_only.headers)).status_code == 403, path


# -- domain blocks --------------------------------------------------------------------------


async def test_domain_blocks(client, container, make_user, drain_jobs) -> None:
    alice = await make_user("alice")
    remote = [(await make_remote_account(container, "far", "evil.example")).id]
    other = [(await make_remote_account(container, "near", "good.example")).id]
    await add_rows(
        container,
        Follow(account_id=remote[0], target_account_id=alice.account_id),
        Follow(account_id=alice.account_id, target_account_id=remote[0]),
        Follow(account_id=other[0], target_account_id=alice.account_id),
    )
    async with container.db.uow() as uow:
        stats = await uow.session.get(AccountStats, alice.account_id)
        assert stats is not None
        stats.followers_count, stats.following_count = 2, 1

    r = await client.post("/api/v1/domain_blocks", data={"domain": " Evil.Example. "}, headers=alice.headers)
    assert r.status_code == 200 and r.json() == {}
    r = await client.post("/api/v1/domain_blocks", json={"domain": "evil.example"}, headers=alice.headers)
    assert r.status_code == 200  # again: no error, no duplicate
    r = await client.post(
        "/api/v1/domain_blocks", json={"domain": "b\u00fccher.example"}, headers=alice.headers
    )
    assert r.status_code == 200

    r = await client.get("/api/v1/domain_blocks", headers=alice.headers)
    assert r.json() == ["xn--bcher-kva.example", "evil.example"]
    r = await client.get("/api/v1/domain_blocks", params={"limit": 1}, headers=alice.headers)
    assert r.json() == ["xn--bcher-kva.example"]
    assert (await client.get(links(r)["next"], headers=alice.headers)).json() == ["evil.example"]

    r = await client.get(f"{API}/relationships", params={"id[]": remote[0]}, headers=alice.headers)
    assert r.json()[0]["domain_blocking"] is True

    # The follows both ways with the blocked domain end in a job; others stay.
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        pairs = (await uow.session.execute(select(Follow.account_id, Follow.target_account_id))).all()
        stats = await uow.session.get(AccountStats, alice.account_id)
    assert [tuple(p) for p in pairs] == [(other[0], alice.account_id)]
    assert stats is not None and (stats.followers_count, stats.following_count) == (1, 0)
    # And following into a blocked domain is refused.
    r = await client.post(f"{API}/{remote[0]}/follow", headers=alice.headers)
    assert r.status_code == 403

    r = await client.request(
        "DELETE", "/api/v1/domain_blocks", params={"domain": "evil.example"}, headers=alice.headers
    )
    assert r.status_code == 200 and r.json() == {}
    r = await client.get("/api/v1/domain_blocks", headers=alice.headers)
    assert r.json() == ["xn--bcher-kva.example"]

    r = await client.post("/api/v1/domain_blocks", headers=alice.headers)
    assert r.status_code == 400 and "domain" in r.json()["error"]
    r = await client.post("/api/v1/domain_blocks", json={"domain": "not a domain/x"}, headers=alice.headers)
    assert r.status_code == 422
    async with container.db.uow(write=False) as uow:
        count = len((await uow.session.execute(select(AccountDomainBlock))).all())
    assert count == 1
    r = await client.post("/api/v1/domain_blocks", json={"domain": "x.example"})
    assert r.status_code == 401


# -- familiar followers ---------------------------------------------------------------------


async def test_familiar_followers(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    friend, stranger, shy = await plain_accounts(container, "friend", "stranger", "shy")
    await add_rows(
        container, *(Follow(account_id=alice.account_id, target_account_id=x) for x in (friend, shy))
    )
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, shy)
        assert account is not None
        account.hide_collections = True
    await add_rows(
        container, *(Follow(account_id=x, target_account_id=bob.account_id) for x in (friend, stranger, shy))
    )
    r = await client.get(
        f"{API}/familiar_followers", params={"id[]": [bob.account_id, friend, 999]}, headers=alice.headers
    )
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body] == [str(bob.account_id), str(friend)]
    assert [a["id"] for a in body[0]["accounts"]] == [str(friend)]
    assert body[0]["accounts"][0]["username"] == "friend"
    assert body[1]["accounts"] == []
    # Ids in a JSON body on the GET, as Mastodon.py sends them.
    r = await client.request(
        "GET", f"{API}/familiar_followers", json={"id": [str(bob.account_id)]}, headers=alice.headers
    )
    assert [a["id"] for a in r.json()[0]["accounts"]] == [str(friend)]
    assert (await client.get(f"{API}/familiar_followers", params={"id[]": bob.account_id})).status_code == 401


# -- search ---------------------------------------------------------------------------------


async def test_account_search(client, container, make_user) -> None:
    alice = await make_user("alice")
    await plain_accounts(container, "bobby", display_name="Robert")
    bob_ids = await plain_accounts(container, "bob", display_name="Bob Builder")
    await plain_accounts(container, "under_score", display_name="")
    await plain_accounts(container, "underXscore", display_name="")
    await make_remote_account(container, "bob", "remote.example", display_name="Remote Bob")

    async def search(**params: Any) -> list[str]:
        r = await client.get(f"{API}/search", params=params, headers=alice.headers)
        assert r.status_code == 200, r.text
        return [a["acct"] for a in r.json()]

    # The exact handle first, then other prefixes, local and remote.
    assert (await search(q="bob"))[0] == "bob"
    assert set(await search(q="bob")) == {"bob", "bobby", "bob@remote.example"}
    assert await search(q="@bob@kinfolk.test") == ["bob", "bobby"]
    assert await search(q="bob@remote.example") == ["bob@remote.example"]
    assert await search(q="ROBERT") == ["bobby"]
    # A sign-up still waiting for approval is not findable.
    async with container.db.uow() as uow:
        bobby = (
            await uow.session.execute(select(User).where(User.email == "bobby@example.com"))
        ).scalar_one()
        bobby.approved = False
    assert await search(q="ROBERT") == []
    assert await search(q="bob builder") == ["bob"]
    # LIKE wildcards are literal characters here.
    assert await search(q="under_") == ["under_score"]
    assert await search(q="") == []
    assert await search(q="@") == []
    assert await search(q="nobody@unknown.example", resolve="true") == []
    assert len(await search(q="bob", limit=1)) == 1
    assert await search(q="bob", limit=1, offset=1) != await search(q="bob", limit=1)
    assert await search(q="bob", offset="99999999999999999999999") == []

    # following=true: only accounts Alice follows.
    await add_rows(container, Follow(account_id=alice.account_id, target_account_id=bob_ids[0]))
    assert await search(q="bob", following="true") == ["bob"]
    # Blocked accounts do not show.
    await add_rows(container, Block(account_id=bob_ids[0], target_account_id=alice.account_id))
    assert "bob" not in await search(q="bob")

    r = await client.get(f"{API}/search", params={"q": "bob"})
    assert r.status_code == 401


async def test_routes_are_not_taken_for_account_ids(client, make_user) -> None:
    alice = await make_user("alice")
    for path in ("relationships", "familiar_followers", "search"):
        r = await client.get(f"{API}/{path}", headers=alice.headers)
        assert r.status_code == 200, (path, r.text)
        assert r.json() == []
    r = await client.get(f"{API}/{alice.account_id}")
    assert r.status_code == 200 and r.json()["id"] == str(alice.account_id)


async def test_jobs_are_enqueued_only_with_the_write(client, container, make_user) -> None:
    """A refused follow leaves neither a row nor a job behind."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await add_rows(container, Block(account_id=bob.account_id, target_account_id=alice.account_id))
    r = await client.post(f"{API}/{bob.account_id}/follow", headers=alice.headers)
    assert r.status_code == 403
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(Job))).first() is None
        assert (await uow.session.execute(select(Follow))).first() is None
