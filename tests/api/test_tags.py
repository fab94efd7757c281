"""Hashtags through the HTTP API: lookup with history, follows (and their home feed), featuring."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import event, select

from kinfolk.container import Container
from kinfolk.domain.timelines.models import HomeFeedEntry


async def _post(client: httpx.AsyncClient, user, text: str, visibility: str = "public") -> dict:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/statuses", data={"status": text, "visibility": visibility}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _today() -> str:
    now = datetime.now(UTC)
    return str(int(datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp()))


async def test_show_a_tag_with_its_history(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _post(client, alice, "first #Kinfolk post")
    await _post(client, alice, "again #kinfolk")
    await _post(client, bob, "me too #KINFOLK")
    await _post(client, bob, "quietly #kinfolk", visibility="unlisted")

    anonymous = await client.get("/api/v1/tags/kinfolk")
    assert anonymous.status_code == 200, anonymous.text
    body = anonymous.json()
    assert body["name"] == "Kinfolk"  # the first spelling
    assert body["url"] == "https://kinfolk.test/tags/kinfolk"
    assert body["id"].isdigit()
    assert "following" not in body and "featuring" not in body
    history = body["history"]
    assert len(history) == 7
    assert history[0] == {"day": _today(), "uses": "3", "accounts": "2"}
    assert all(h["uses"] == "0" and h["accounts"] == "0" for h in history[1:])
    assert [int(h["day"]) for h in history] == sorted((int(h["day"]) for h in history), reverse=True)

    mine = (await client.get("/api/v1/tags/KinFolk", headers=alice.headers)).json()
    assert mine["id"] == body["id"] and mine["following"] is False and mine["featuring"] is False

    unused = (await client.get("/api/v1/tags/neverused")).json()
    assert unused["id"] == "" and unused["name"] == "neverused"
    assert [h["uses"] for h in unused["history"]] == ["0"] * 7


async def test_invalid_names(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    assert (await client.get("/api/v1/tags/123")).status_code == 404
    assert (await client.get("/api/v1/tags/%21%21%21")).status_code == 404
    response = await client.get("/api/v1/tags/foo-bar")
    assert response.status_code == 422 and "hashtag" in response.json()["error"]
    assert (await client.post("/api/v1/tags/foo-bar/follow", headers=alice.headers)).status_code == 422
    assert (
        await client.post("/api/v1/tags/" + "a" * 300 + "/follow", headers=alice.headers)
    ).status_code == 422
    created = await client.post("/api/v1/featured_tags", data={"name": "no spaces"}, headers=alice.headers)
    assert created.status_code == 422
    assert (await client.post("/api/v1/featured_tags", data={}, headers=alice.headers)).status_code == 422
    assert (await client.get("/api/v1/tags/caf%C3%A9")).json()["name"] == "café"


async def test_follow_unfollow_and_followed_tags(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    for name in ("one", "two", "three"):
        response = await client.post(f"/api/v1/tags/{name}/follow", headers=alice.headers)
        assert response.status_code == 200, response.text
        assert response.json()["following"] is True
    again = await client.post("/api/v1/tags/one/follow", headers=alice.headers)
    assert again.status_code == 200 and again.json()["following"] is True

    listed = await client.get("/api/v1/followed_tags", headers=alice.headers)
    assert [t["name"] for t in listed.json()] == ["three", "two", "one"]
    assert all(t["following"] is True for t in listed.json())
    first = await client.get("/api/v1/followed_tags?limit=2", headers=alice.headers)
    assert [t["name"] for t in first.json()] == ["three", "two"]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    rest = await client.get(next_url, headers=alice.headers)
    assert [t["name"] for t in rest.json()] == ["one"]

    dropped = await client.post("/api/v1/tags/two/unfollow", headers=alice.headers)
    assert dropped.status_code == 200 and dropped.json()["following"] is False
    listed = await client.get("/api/v1/followed_tags", headers=alice.headers)
    assert [t["name"] for t in listed.json()] == ["three", "one"]
    unknown = await client.post("/api/v1/tags/nobodyhere/unfollow", headers=alice.headers)
    assert unknown.status_code == 200 and unknown.json()["following"] is False


async def test_followed_tags_feed_the_home_timeline(
    client, make_user, container: Container, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    carol = await make_user("carol")
    await client.post("/api/v1/tags/gardening/follow", headers=alice.headers)
    tagged = await _post(client, carol, "tomatoes #Gardening")
    untagged = await _post(client, carol, "tomatoes again")
    private = await _post(client, carol, "secret #gardening", visibility="private")
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(
            select(HomeFeedEntry.status_id).where(HomeFeedEntry.account_id == alice.account_id)
        )
        feed = {str(i) for i in rows.scalars()}
    assert tagged["id"] in feed
    assert untagged["id"] not in feed and private["id"] not in feed


async def test_featured_tags(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _post(client, alice, "#cats are great")
    await _post(client, alice, "more #cats")
    await _post(client, alice, "#cats privately", visibility="private")
    await _post(client, alice, "#dogs too")
    await _post(client, bob, "#cats from bob")

    suggested = await client.get("/api/v1/featured_tags/suggestions", headers=alice.headers)
    assert [t["name"] for t in suggested.json()] == ["cats", "dogs"]

    created = await client.post("/api/v1/featured_tags", data={"name": "#cats"}, headers=alice.headers)
    assert created.status_code == 200, created.text
    featured = created.json()
    assert featured == {
        "id": featured["id"],
        "name": "cats",
        "url": "https://kinfolk.test/@alice/tagged/cats",
        "statuses_count": "2",
        "last_status_at": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    same = await client.post("/api/v1/featured_tags", data={"name": "Cats"}, headers=alice.headers)
    assert same.status_code == 200 and same.json()["id"] == featured["id"]
    fresh = await client.post("/api/v1/featured_tags", json={"name": "unused"}, headers=alice.headers)
    assert fresh.json()["statuses_count"] == "0" and fresh.json()["last_status_at"] is None

    assert [
        t["name"]
        for t in (await client.get("/api/v1/featured_tags/suggestions", headers=alice.headers)).json()
    ] == ["dogs"]
    mine = await client.get("/api/v1/featured_tags", headers=alice.headers)
    assert [t["name"] for t in mine.json()] == ["cats", "unused"]
    public = await client.get(f"/api/v1/accounts/{alice.account_id}/featured_tags")
    assert public.status_code == 200 and public.json() == mine.json()
    assert (await client.get("/api/v1/accounts/999999/featured_tags")).status_code == 404

    assert (
        await client.delete(f"/api/v1/featured_tags/{featured['id']}", headers=bob.headers)
    ).status_code == 404
    gone = await client.delete(f"/api/v1/featured_tags/{featured['id']}", headers=alice.headers)
    assert gone.status_code == 200 and gone.json() == {}
    assert [t["name"] for t in (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()] == [
        "unused"
    ]

    shown = await client.post("/api/v1/tags/dogs/feature", headers=alice.headers)
    assert shown.status_code == 200 and shown.json()["featuring"] is True
    names = [t["name"] for t in (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()]
    assert names == ["unused", "dogs"]
    hidden = await client.post("/api/v1/tags/dogs/unfeature", headers=alice.headers)
    assert hidden.json()["featuring"] is False
    assert [t["name"] for t in (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()] == [
        "unused"
    ]


async def test_featured_tags_are_limited(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    for i in range(10):
        response = await client.post(
            "/api/v1/featured_tags", data={"name": f"tag{chr(97 + i)}"}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
    refused = await client.post("/api/v1/featured_tags", data={"name": "onemore"}, headers=alice.headers)
    assert refused.status_code == 422
    assert (await client.post("/api/v1/tags/onemore/feature", headers=alice.headers)).status_code == 422
    assert len((await client.get("/api/v1/featured_tags", headers=alice.headers)).json()) == 10


async def test_scopes(client, make_user) -> None:  # type: ignore[no-untyped-def]
    reader = await make_user("reader", scopes="read")
    assert (await client.post("/api/v1/tags/x/follow")).status_code == 401
    assert (await client.post("/api/v1/tags/x/follow", headers=reader.headers)).status_code == 403
    assert (await client.get("/api/v1/followed_tags", headers=reader.headers)).status_code == 200
    assert (await client.get("/api/v1/followed_tags")).status_code == 401
    assert (
        await client.post("/api/v1/featured_tags", data={"name": "x"}, headers=reader.headers)
    ).status_code == 403
    follower = await make_user("follower", scopes="follow")
    assert (await client.post("/api/v1/tags/x/follow", headers=follower.headers)).status_code == 200


@contextmanager
def _count_selects(container: Container) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


async def test_followed_tags_page_costs_a_fixed_number_of_queries(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    for i in range(20):
        await client.post(f"/api/v1/tags/follow{chr(97 + i)}/follow", headers=alice.headers)
        await _post(client, alice, f"#follow{chr(97 + i)}")
    counts = []
    for limit in (1, 20):
        with _count_selects(container) as seen:
            response = await client.get(f"/api/v1/followed_tags?limit={limit}", headers=alice.headers)
        assert len(response.json()) == limit
        counts.append(len(seen))
    assert counts[0] == counts[1]
