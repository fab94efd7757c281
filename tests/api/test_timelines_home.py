"""The home timeline: fan-out, paging, mutes and blocks after the fact, filters, exclusive lists,
the read-through below the feed, trimming, and a fixed number of queries per page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import delete, event, func, select

from kinfolk.container import Container
from kinfolk.domain.filters.models import Filter, FilterKeyword
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.relationships.models import Mute
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.jobs.context import JobContext, JobUnitOfWork

_LINK_RE = re.compile(r'<([^>]+)>; rel="(\w+)"')
HOME = "/api/v1/timelines/home"


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in _LINK_RE.findall(response.headers.get("link", ""))}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def follow(client: httpx.AsyncClient, user: Any, target: Any) -> None:
    response = await client.post(f"/api/v1/accounts/{target.account_id}/follow", headers=user.headers)
    assert response.status_code == 200, response.text


async def test_home_shows_own_and_followed_posts_newest_first_with_links(
    client, make_user, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await follow(client, alice, bob)
    await drain_jobs()
    posted = [
        await post(client, bob, "one"),
        await post(client, alice, "two"),
        await post(client, carol, "not followed"),
        await post(client, bob, "three", visibility="private"),
    ]
    await drain_jobs()
    response = await client.get(HOME, headers=alice.headers)
    assert ids(response) == [posted[3]["id"], posted[1]["id"], posted[0]["id"]]
    assert response.json()[0]["account"]["username"] == "bob"
    assert response.json()[0]["favourited"] is False
    found = links(response)
    assert found["next"] == f"https://kinfolk.test{HOME}?max_id={posted[0]['id']}"
    assert found["prev"] == f"https://kinfolk.test{HOME}?min_id={posted[3]['id']}"

    page = await client.get(HOME, params={"limit": "2"}, headers=alice.headers)
    assert ids(page) == [posted[3]["id"], posted[1]["id"]]
    older = await client.get(links(page)["next"], headers=alice.headers)
    assert ids(older) == [posted[0]["id"]]
    newer = await client.get(HOME, params={"min_id": posted[0]["id"], "limit": "1"}, headers=alice.headers)
    assert ids(newer) == [posted[1]["id"]]
    since = await client.get(HOME, params={"since_id": posted[0]["id"], "limit": "1"}, headers=alice.headers)
    assert ids(since) == [posted[3]["id"]]


async def test_home_requires_a_user_token_that_may_read(client, make_user) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get(HOME)).status_code == 401
    writer = await make_user("writer", scopes="write")
    assert (await client.get(HOME, headers=writer.headers)).status_code == 403
    reader = await make_user("reader", scopes="read:statuses")
    assert (await client.get(HOME, headers=reader.headers)).status_code == 200
    bad = await client.get(HOME, params={"max_id": "x"}, headers=reader.headers)
    assert bad.status_code == 400


async def test_mutes_and_blocks_after_fan_out_hide_posts_and_boosts(
    client, make_user, container: Container, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    await drain_jobs()
    by_bob = await post(client, bob, "from bob")
    by_carol = await post(client, carol, "from carol")
    await drain_jobs()
    boost = (await client.post(f"/api/v1/statuses/{by_carol['id']}/reblog", headers=bob.headers)).json()
    await drain_jobs()
    # The boost of something already in the feed is not added again.
    assert ids(await client.get(HOME, headers=alice.headers)) == [by_carol["id"], by_bob["id"]]

    # A mute written straight to the table (no unmerge job): the read still hides bob.
    async with container.db.uow() as uow:
        uow.session.add(Mute(account_id=alice.account_id, target_account_id=bob.account_id))
    assert ids(await client.get(HOME, headers=alice.headers)) == [by_carol["id"]]

    dave = await make_user("dave")
    await follow(client, dave, bob)
    await drain_jobs()
    boost2 = (await client.post(f"/api/v1/statuses/{by_carol['id']}/unreblog", headers=bob.headers)).json()
    assert boost2["reblogged"] is False
    boost = (await client.post(f"/api/v1/statuses/{by_carol['id']}/reblog", headers=bob.headers)).json()
    await drain_jobs()
    assert ids(await client.get(HOME, headers=dave.headers))[0] == boost["id"]
    # dave blocks carol: bob's boost of carol disappears from dave's home.
    assert (
        await client.post(f"/api/v1/accounts/{carol.account_id}/block", headers=dave.headers)
    ).status_code == 200
    assert boost["id"] not in ids(await client.get(HOME, headers=dave.headers))


async def test_filters_hide_or_mark_statuses(client, make_user, container: Container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await follow(client, alice, bob)
    await drain_jobs()
    async with container.db.uow() as uow:
        hide = Filter(account_id=alice.account_id, title="no spoilers", context=["home"], action="hide")
        warn = Filter(account_id=alice.account_id, title="careful", context=["home"], action="warn")
        other = Filter(account_id=alice.account_id, title="elsewhere", context=["public"], action="hide")
        uow.session.add_all([hide, warn, other])
        await uow.session.flush()
        uow.session.add_all(
            [
                FilterKeyword(filter_id=hide.id, keyword="spoiler", whole_word=True),
                FilterKeyword(filter_id=warn.id, keyword="cats", whole_word=False),
                FilterKeyword(filter_id=other.id, keyword="weather", whole_word=True),
            ]
        )
    spoiler = await post(client, bob, "big spoiler ahead")
    cats = await post(client, bob, "I like cats")
    weather = await post(client, bob, "nice weather")
    await drain_jobs()
    response = await client.get(HOME, headers=alice.headers)
    assert ids(response) == [weather["id"], cats["id"]]
    marked = response.json()[1]["filtered"]
    assert marked[0]["filter"]["title"] == "careful" and marked[0]["keyword_matches"] == ["cats"]
    assert response.json()[0]["filtered"] == []
    # Paging goes by what was read, hidden ones included.
    assert links(response)["next"].endswith(f"max_id={spoiler['id']}")


async def test_exclusive_list_members_stay_out_of_home(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await follow(client, alice, bob)
    await follow(client, alice, carol)
    await drain_jobs()
    created = await client.post(
        "/api/v1/lists", data={"title": "bob only", "exclusive": "true"}, headers=alice.headers
    )
    assert created.status_code == 200 and created.json()["exclusive"] is True
    list_id = created.json()["id"]
    added = await client.post(
        f"/api/v1/lists/{list_id}/accounts",
        data={"account_ids[]": [str(bob.account_id)]},
        headers=alice.headers,
    )
    assert added.status_code == 200, added.text
    await drain_jobs()
    by_bob = await post(client, bob, "exclusive")
    by_carol = await post(client, carol, "inclusive")
    await drain_jobs()
    assert ids(await client.get(HOME, headers=alice.headers)) == [by_carol["id"]]
    assert ids(await client.get(f"/api/v1/timelines/list/{list_id}", headers=alice.headers)) == [by_bob["id"]]


async def test_home_reads_through_when_the_feed_is_missing_or_trimmed(
    client, make_user, container: Container, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    await follow(client, alice, bob)
    await drain_jobs()
    posted = [await post(client, bob, f"post {i}") for i in range(6)]
    reply_to_stranger = await post(client, bob, "@carol hi", in_reply_to_id=posted[0]["id"])
    await drain_jobs()
    newest_first = [p["id"] for p in reversed(posted)]
    assert ids(await client.get(HOME, headers=alice.headers))[:6] == [
        reply_to_stranger["id"],
        *newest_first[:5],
    ]

    # The feed was never built (or trimmed away): the same page, read through.
    async with container.db.uow() as uow:
        await uow.session.execute(delete(HomeFeedEntry).where(HomeFeedEntry.account_id == alice.account_id))
    assert ids(await client.get(HOME, headers=alice.headers))[:6] == [
        reply_to_stranger["id"],
        *newest_first[:5],
    ]

    # Only the two newest rows left: older pages continue below them.
    async with container.db.uow() as uow:
        for status_id in (reply_to_stranger["id"], posted[5]["id"]):
            uow.session.add(
                HomeFeedEntry(
                    account_id=alice.account_id,
                    status_id=int(status_id),
                    origin_account_id=bob.account_id,
                    reblog_of_id=None,
                )
            )
    first = await client.get(HOME, params={"limit": "3"}, headers=alice.headers)
    assert ids(first) == [reply_to_stranger["id"], posted[5]["id"], posted[4]["id"]]
    second = await client.get(links(first)["next"], headers=alice.headers)
    assert ids(second) == [posted[3]["id"], posted[2]["id"], posted[1]["id"]]
    forward = await client.get(HOME, params={"min_id": posted[1]["id"], "limit": "2"}, headers=alice.headers)
    assert ids(forward) == [posted[3]["id"], posted[2]["id"]]


async def test_trim_keeps_the_newest_rows(
    client, make_user, container: Container, drain_jobs, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from kinfolk.domain.timelines import jobs

    monkeypatch.setattr(jobs, "HOME_FEED_SIZE", 3)
    alice = await make_user("alice")
    posted = [await post(client, alice, f"n{i}") for i in range(5)]
    await drain_jobs()
    async with JobUnitOfWork(container.db) as uow:
        ctx = JobContext(container, uow, 0, "feeds.trim", "default", 1, 3, "test")
        await jobs.trim_feeds(ctx, {})
    async with container.db.uow(write=False) as uow:
        kept = (
            await uow.session.execute(
                select(HomeFeedEntry.status_id)
                .where(HomeFeedEntry.account_id == alice.account_id)
                .order_by(HomeFeedEntry.status_id.desc())
            )
        ).scalars()
        assert [str(i) for i in kept] == [p["id"] for p in reversed(posted)][:3]
    # The timeline still shows everything, older posts read through.
    assert ids(await client.get(HOME, headers=alice.headers)) == [p["id"] for p in reversed(posted)]


async def _media(container: Container, owner: Any, n: int) -> list[str]:
    async with container.db.uow() as uow:
        rows = [
            MediaAttachment(account_id=owner.account_id, type="image", file_key=f"x/{owner.username}{i}.png")
            for i in range(n)
        ]
        uow.session.add_all(rows)
        await uow.session.flush()
        return [str(m.id) for m in rows]


async def test_a_home_page_takes_a_fixed_number_of_queries(
    client, make_user, container: Container, drain_jobs
) -> None:  # type: ignore[no-untyped-def]
    """40 statuses with media, polls, mentions, tags and boosts cost what a page of 1 costs."""
    alice = await make_user("alice")
    authors = [await make_user(f"author{i}") for i in range(4)]
    for author in authors:
        await follow(client, alice, author)
    await drain_jobs()
    originals = []
    for i in range(16):
        author = authors[i % 4]
        if i % 3 == 0:
            media = await _media(container, author, 2)
            originals.append(await post(client, author, f"pic {i} #tag{i}", **{"media_ids[]": media}))
        elif i % 3 == 1:
            originals.append(
                await post(
                    client,
                    author,
                    f"poll {i} @alice",
                    **{"poll[options][]": ["a", "b"], "poll[expires_in]": "3600"},
                )
            )
        else:
            originals.append(await post(client, author, f"plain {i} #tag{i}"))
    stranger = await make_user("stranger")
    for i in range(24):
        # Boosts of what is already in the feed are skipped: boost the stranger's posts.
        if i % 3 == 0:
            media = await _media(container, stranger, 1)
            source = await post(client, stranger, f"stranger pic {i}", **{"media_ids[]": media})
        elif i % 3 == 2:
            # The newest entry (i = 23) is a boosted poll, so a page of one holds every kind.
            options = {"poll[options][]": ["x", "y"], "poll[expires_in]": "3600"}
            source = await post(client, stranger, f"stranger poll {i}", **options)
        else:
            source = await post(client, stranger, f"stranger {i} @author1")
        await client.post(f"/api/v1/statuses/{originals[i % 16]['id']}/favourite", headers=alice.headers)
        response = await client.post(
            f"/api/v1/statuses/{source['id']}/reblog", headers=authors[i % 4].headers
        )
        assert response.status_code == 200
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        total = (
            await uow.session.execute(
                select(func.count())
                .select_from(HomeFeedEntry)
                .where(HomeFeedEntry.account_id == alice.account_id)
            )
        ).scalar_one()
    assert total >= 40

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        one = await client.get(HOME, params={"limit": "1"}, headers=alice.headers)
        single = len(statements)
        statements.clear()
        forty = await client.get(HOME, params={"limit": "40"}, headers=alice.headers)
        full = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(ids(one)) == 1
    page = forty.json()
    assert len(page) == 40
    assert any(s["reblog"] for s in page) and any(s["media_attachments"] for s in page if not s["reblog"])
    assert any(s["poll"] for s in page if not s["reblog"]) or any(
        s["reblog"] and s["reblog"]["poll"] for s in page
    )
    assert full == single, (single, full)
