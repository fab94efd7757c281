"""Trends: computed by the periodic job from recent public activity, read cheaply by clients."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.tags.models import Tag
from kinfolk.jobs.handlers import load_handler_modules
from kinfolk.jobs.scheduler import all_periodic


async def _post(client: httpx.AsyncClient, user, text: str, **data: Any) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _refresh(container: Container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    async with container.db.uow() as uow:
        await uow.enqueue("trends.refresh", {})
    await drain_jobs()


async def test_nothing_trends_before_the_job_runs(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/trends", "/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/trends/links"):
        response = await client.get(path)
        assert response.status_code == 200 and response.json() == [], path
    load_handler_modules("")
    assert "trends.refresh" in all_periodic()


async def test_trending_tags(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    hermit = await make_user("hermit")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == hermit.account_id).values(discoverable=False)
        )
    for user in (alice, bob, carol):
        await _post(client, user, "#Rising #moderated")
    for user in (alice, bob):
        await _post(client, user, "#second")
    await _post(client, alice, "#second again")
    await _post(client, alice, "#lonely")
    await _post(client, alice, "#lonely again")
    await _post(client, hermit, "#quiet")
    await _post(client, alice, "#quiet", visibility="unlisted")
    await _post(client, bob, "#quiet", visibility="private")
    async with container.db.uow() as uow:
        await uow.session.execute(update(Tag).where(Tag.name == "moderated").values(trendable=False))
    await _refresh(container, drain_jobs)

    body = (await client.get("/api/v1/trends/tags")).json()
    assert [t["name"] for t in body] == ["Rising", "second"]
    assert body[0]["history"][0]["uses"] == "3" and body[0]["history"][0]["accounts"] == "3"
    assert body[1]["history"][0] == {"day": body[1]["history"][0]["day"], "uses": "3", "accounts": "2"}
    assert len(body[0]["history"]) == 7 and "following" not in body[0]
    assert (await client.get("/api/v1/trends")).json() == body
    assert [t["name"] for t in (await client.get("/api/v1/trends/tags?limit=1&offset=1")).json()] == [
        "second"
    ]

    await client.post("/api/v1/tags/rising/follow", headers=alice.headers)
    mine = (await client.get("/api/v1/trends/tags", headers=alice.headers)).json()
    assert [t["following"] for t in mine] == [True, False]

    # A moderator's later decision applies without waiting for the next run.
    async with container.db.uow() as uow:
        await uow.session.execute(update(Tag).where(Tag.name == "second").values(trendable=False))
    assert [t["name"] for t in (await client.get("/api/v1/trends/tags")).json()] == ["Rising"]


async def test_trending_statuses(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    users = [await make_user(name) for name in ("alice", "bob", "carol", "dave")]
    alice, bob, carol, dave = users
    hot = await _post(client, alice, "hot take")
    warm = await _post(client, bob, "warm take")
    cold = await _post(client, carol, "cold take")
    hidden = await _post(client, dave, "followers only take", visibility="private")
    for user in (bob, carol, dave):
        await client.post(f"/api/v1/statuses/{hot['id']}/favourite", headers=user.headers)
    await client.post(f"/api/v1/statuses/{warm['id']}/favourite", headers=alice.headers)
    await client.post(f"/api/v1/statuses/{warm['id']}/reblog", headers=carol.headers)
    await client.post(f"/api/v1/statuses/{cold['id']}/favourite", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{dave.account_id}/follow", headers=alice.headers)
    await client.post(f"/api/v1/statuses/{hidden['id']}/favourite", headers=alice.headers)
    await _refresh(container, drain_jobs)

    body = (await client.get("/api/v1/trends/statuses")).json()
    assert [s["id"] for s in body] == [hot["id"], warm["id"]]
    assert body[0]["favourites_count"] == 3
    assert [s["id"] for s in (await client.get("/api/v1/trends/statuses?limit=1&offset=1")).json()] == [
        warm["id"]
    ]
    # Whoever blocked an author does not see them trending; deleted posts drop out at once.
    await client.post(f"/api/v1/accounts/{alice.account_id}/block", headers=dave.headers)
    assert [s["id"] for s in (await client.get("/api/v1/trends/statuses", headers=dave.headers)).json()] == [
        warm["id"]
    ]
    await client.delete(f"/api/v1/statuses/{warm['id']}", headers=bob.headers)
    assert [s["id"] for s in (await client.get("/api/v1/trends/statuses")).json()] == [hot["id"]]


async def test_trending_links(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await _post(client, alice, "read https://Example.com/article#intro now")
    await _post(client, bob, "see https://example.com/article.")
    await _post(client, bob, "again https://example.com/article")
    await _post(client, carol, "mine https://kinfolk.test/@carol and https://other.example/x")
    await _post(client, alice, "private https://other.example/x", visibility="private")
    await _post(client, alice, "local https://kinfolk.test/@carol")
    await _refresh(container, drain_jobs)

    body = (await client.get("/api/v1/trends/links")).json()
    assert [link["url"] for link in body] == ["https://example.com/article"]
    (link,) = body
    assert link["title"] == "example.com" and link["description"] == "" and link["type"] == "link"
    assert link["history"][0]["uses"] == "3" and link["history"][0]["accounts"] == "2"
    assert len(link["history"]) == 7
    assert (await client.get("/api/v1/trends/links?offset=1")).json() == []


async def test_refresh_replaces_the_previous_ranking(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    first = await _post(client, alice, "#passing")
    await _post(client, bob, "#passing")
    await _refresh(container, drain_jobs)
    assert len((await client.get("/api/v1/trends/tags")).json()) == 1
    await client.delete(f"/api/v1/statuses/{first['id']}", headers=alice.headers)
    await _refresh(container, drain_jobs)
    assert (await client.get("/api/v1/trends/tags")).json() == []


async def test_trend_pages_cost_a_fixed_number_of_queries(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    users = [await make_user(f"user{i}") for i in range(3)]
    posts = []
    for i in range(3):
        tag = f"#trend{chr(97 + i)}"
        for user in users[:2]:
            posts.append(await _post(client, user, f"{tag} https://site{i}.example/page"))
    for post in posts:
        await client.post(f"/api/v1/statuses/{post['id']}/favourite", headers=users[2].headers)
        await client.post(f"/api/v1/statuses/{post['id']}/reblog", headers=users[2].headers)
    await _refresh(container, drain_jobs)
    for path in ("/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/trends/links"):
        counts = []
        for limit in (1, 3):
            seen: list[str] = []

            def listener(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
                seen.append(statement)  # noqa: B023

            event.listen(container.db.engine.sync_engine, "before_cursor_execute", listener)
            try:
                response = await client.get(f"{path}?limit={limit}", headers=users[0].headers)
            finally:
                event.remove(container.db.engine.sync_engine, "before_cursor_execute", listener)
            assert len(response.json()) == limit, (path, response.json())
            counts.append(len(seen))
        assert counts[0] == counts[1], path
