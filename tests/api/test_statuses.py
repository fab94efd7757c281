"""Posting and reading statuses through the HTTP API, as clients do."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select
from tests.remote import make_remote_account, make_remote_status

from kinfolk.container import Container
from kinfolk.domain.backfill import THREAD_JOB
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.jobs.models import Job


async def _post(client: httpx.AsyncClient, user, **data):  # type: ignore[no-untyped-def]
    return await client.post("/api/v1/statuses", data=data, headers=user.headers)


async def _count_statuses(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Status))).scalar_one())


async def test_post_renders_mentions_hashtags_and_links(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    response = await _post(
        client,
        alice,
        status="Hi @bob, see https://example.com/some/long/path/to/a/page #Kinfolk",
        visibility="public",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account"]["username"] == "alice"
    assert body["visibility"] == "public"
    assert body["mentions"] == [
        {"id": str(bob.account_id), "username": "bob", "url": "https://kinfolk.test/@bob", "acct": "bob"}
    ]
    assert body["tags"] == [{"name": "kinfolk", "url": "https://kinfolk.test/tags/kinfolk"}]
    content = body["content"]
    assert content.startswith("<p>") and content.endswith("</p>")
    assert (
        '<span class="h-card" translate="no"><a href="https://kinfolk.test/@bob" class="u-url mention">@<span>bob</span></a></span>'
        in content
    )
    assert 'class="mention hashtag" rel="tag">#<span>Kinfolk</span></a>' in content
    assert 'href="https://example.com/some/long/path/to/a/page"' in content
    assert body["uri"] == f"https://kinfolk.test/users/alice/statuses/{body['id']}"
    assert body["favourited"] is False and body["pinned"] is False

    shown = await client.get(f"/api/v1/statuses/{body['id']}")
    assert shown.status_code == 200
    assert shown.json()["content"] == content
    assert "favourited" not in shown.json()  # anonymous viewers get no viewer flags


async def test_bad_input_gets_mastodons_errors_and_creates_nothing(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    cases = [
        ({"status": "x" * 501}, 422, "character limit"),
        ({"status": ""}, 422, "can't be blank"),
        ({"status": "hi", "visibility": "everyone"}, 422, "Visibility"),
        ({"status": "hi", "in_reply_to_id": "999999"}, 404, "does not appear to exist"),
        ({"status": "hi", "media_ids[]": ["1", "2", "3", "4", "5"]}, 422, "Media"),
        ({"status": "hi", "media_ids[]": ["12345"]}, 422, "not found"),
        ({"status": "hi", "poll[options][]": ["only one"], "poll[expires_in]": "3600"}, 422, "Poll"),
        ({"status": "hi", "poll[options][]": ["a", "b"], "poll[expires_in]": "10"}, 422, "expiration"),
    ]
    for data, code, message in cases:
        response = await _post(client, alice, **data)
        assert response.status_code == code, (data, response.text)
        assert message in response.json()["error"], (data, response.json())
    assert await _count_statuses(container) == 0


async def test_read_only_token_cannot_post(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    reader = await make_user("reader", scopes="read")
    response = await _post(client, reader, status="hello")
    assert response.status_code == 403
    assert response.json() == {"error": "This action is outside the authorized scopes"}
    assert (await client.post("/api/v1/statuses", data={"status": "x"})).status_code == 401
    assert await _count_statuses(container) == 0


async def test_url_counts_as_23_characters(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    long_url = "https://example.com/" + "a" * 600
    response = await _post(client, alice, status="x" * 470 + " " + long_url)
    assert response.status_code == 200, response.text


async def test_idempotency_key_makes_one_status_even_concurrently(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    headers = {**alice.headers, "Idempotency-Key": "same-key"}
    first = await client.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    second = await client.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    concurrent = await asyncio.gather(
        *(
            client.post(
                "/api/v1/statuses",
                data={"status": "race"},
                headers={**alice.headers, "Idempotency-Key": "race"},
            )
            for _ in range(4)
        )
    )
    assert all(r.status_code == 200 for r in concurrent), [r.text for r in concurrent]
    assert len({r.json()["id"] for r in concurrent}) == 1
    other = await client.post(
        "/api/v1/statuses", data={"status": "once"}, headers={**bob.headers, "Idempotency-Key": "same-key"}
    )
    assert other.json()["id"] != first.json()["id"]
    assert await _count_statuses(container) == 3


async def test_reply_thread_context_and_counts(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    root = (await _post(client, alice, status="root")).json()
    reply = (await _post(client, bob, status="@alice reply", in_reply_to_id=root["id"])).json()
    nested = (await _post(client, alice, status="@bob nested", in_reply_to_id=reply["id"])).json()
    assert reply["in_reply_to_id"] == root["id"] and reply["in_reply_to_account_id"] == str(alice.account_id)
    context = (await client.get(f"/api/v1/statuses/{reply['id']}/context", headers=bob.headers)).json()
    assert [s["id"] for s in context["ancestors"]] == [root["id"]]
    assert [s["id"] for s in context["descendants"]] == [nested["id"]]
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 1
    await drain_jobs()


async def test_private_and_direct_statuses_are_hidden_from_others(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    private = (await _post(client, alice, status="followers only", visibility="private")).json()
    direct = (await _post(client, alice, status="@bob secret", visibility="direct")).json()
    assert (await client.get(f"/api/v1/statuses/{private['id']}", headers=bob.headers)).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{private['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{direct['id']}", headers=bob.headers)).status_code == 200
    assert (await client.get(f"/api/v1/statuses/{direct['id']}", headers=carol.headers)).status_code == 404
    # Replying to what you cannot see is refused, and boosting a private post too.
    refused = await _post(client, carol, status="hm", in_reply_to_id=direct["id"])
    assert refused.status_code == 404
    assert (
        await client.post(f"/api/v1/statuses/{direct['id']}/reblog", headers=bob.headers)
    ).status_code == 403


async def test_interactions_favourite_boost_bookmark_pin_mute(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    status = (await _post(client, alice, status="hello")).json()
    sid = status["id"]
    fav = (await client.post(f"/api/v1/statuses/{sid}/favourite", headers=bob.headers)).json()
    assert fav["favourited"] is True and fav["favourites_count"] == 1
    again = (await client.post(f"/api/v1/statuses/{sid}/favourite", headers=bob.headers)).json()
    assert again["favourites_count"] == 1
    boost = (await client.post(f"/api/v1/statuses/{sid}/reblog", headers=bob.headers)).json()
    assert boost["reblog"]["id"] == sid and boost["reblog"]["reblogged"] is True
    assert boost["reblog"]["reblogs_count"] == 1
    same_boost = (await client.post(f"/api/v1/statuses/{sid}/reblog", headers=bob.headers)).json()
    assert same_boost["id"] == boost["id"]
    favourited_by = (await client.get(f"/api/v1/statuses/{sid}/favourited_by")).json()
    assert [a["username"] for a in favourited_by] == ["bob"]
    reblogged_by = (await client.get(f"/api/v1/statuses/{sid}/reblogged_by")).json()
    assert [a["username"] for a in reblogged_by] == ["bob"]
    assert (await client.post(f"/api/v1/statuses/{sid}/bookmark", headers=bob.headers)).json()["bookmarked"]
    bookmarks = await client.get("/api/v1/bookmarks", headers=bob.headers)
    assert [s["id"] for s in bookmarks.json()] == [sid]
    assert "Link" in bookmarks.headers
    favourites = (await client.get("/api/v1/favourites", headers=bob.headers)).json()
    assert [s["id"] for s in favourites] == [sid]
    assert (await client.post(f"/api/v1/statuses/{sid}/pin", headers=bob.headers)).status_code == 422
    assert (await client.post(f"/api/v1/statuses/{sid}/pin", headers=alice.headers)).json()["pinned"] is True
    assert (await client.post(f"/api/v1/statuses/{sid}/mute", headers=bob.headers)).json()["muted"] is True
    un = (await client.post(f"/api/v1/statuses/{sid}/unreblog", headers=bob.headers)).json()
    assert un["reblogged"] is False and un["reblogs_count"] == 0
    unfav = (await client.post(f"/api/v1/statuses/{sid}/unfavourite", headers=bob.headers)).json()
    assert unfav["favourited"] is False and unfav["favourites_count"] == 0
    await drain_jobs()


async def test_at_most_five_pins(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    ids = [(await _post(client, alice, status=f"post {i}")).json()["id"] for i in range(6)]
    for sid in ids[:5]:
        assert (await client.post(f"/api/v1/statuses/{sid}/pin", headers=alice.headers)).status_code == 200
    refused = await client.post(f"/api/v1/statuses/{ids[5]}/pin", headers=alice.headers)
    assert refused.status_code == 422
    pinned = (
        await client.get(f"/api/v1/accounts/{alice.account_id}/statuses", params={"pinned": "true"})
    ).json()
    assert sorted(s["id"] for s in pinned) == sorted(ids[:5])


async def test_edit_history_source_and_delete_for_redraft(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    sid = (await _post(client, alice, status="first #one")).json()["id"]
    assert (
        await client.put(f"/api/v1/statuses/{sid}", data={"status": "x"}, headers=bob.headers)
    ).status_code == 404  # as Mastodon, which looks among the caller's own statuses only
    edited = await client.put(
        f"/api/v1/statuses/{sid}", data={"status": "second #two"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["edited_at"] is not None
    assert [t["name"] for t in edited.json()["tags"]] == ["two"]
    history = (await client.get(f"/api/v1/statuses/{sid}/history")).json()
    assert [h["content"] for h in history] == [
        '<p>first <a href="https://kinfolk.test/tags/one" class="mention hashtag" rel="tag">#<span>one</span></a></p>',
        '<p>second <a href="https://kinfolk.test/tags/two" class="mention hashtag" rel="tag">#<span>two</span></a></p>',
    ]
    source = (await client.get(f"/api/v1/statuses/{sid}/source", headers=alice.headers)).json()
    assert source == {"id": sid, "text": "second #two", "spoiler_text": ""}
    deleted = await client.delete(f"/api/v1/statuses/{sid}", headers=alice.headers)
    assert deleted.status_code == 200 and deleted.json()["text"] == "second #two"
    assert (await client.get(f"/api/v1/statuses/{sid}")).status_code == 404
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        left = (await uow.session.execute(select(func.count()).select_from(HomeFeedEntry))).scalar_one()
    assert left == 0


async def test_polls_vote_and_results(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    status = (
        await _post(
            client, alice, status="pick", **{"poll[options][]": ["tea", "coffee"], "poll[expires_in]": "3600"}
        )
    ).json()
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["tea", "coffee"]
    voted = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["1"]}, headers=bob.headers
    )
    assert voted.status_code == 200, voted.text
    assert voted.json()["own_votes"] == [1] and voted.json()["voted"] is True
    assert voted.json()["options"][1]["votes_count"] == 1
    twice = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["0"]}, headers=bob.headers
    )
    assert twice.status_code == 422
    bad = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["7"]}, headers=alice.headers
    )
    assert bad.status_code == 422
    assert (await client.get(f"/api/v1/polls/{poll['id']}")).json()["votes_count"] == 1


async def test_scheduled_status_is_kept_then_listed(client, make_user) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    alice = await make_user("alice")
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await _post(client, alice, status="later", scheduled_at=soon)).status_code == 422
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = await _post(client, alice, status="later", scheduled_at=later)
    assert created.status_code == 200, created.text
    assert created.json()["params"]["text"] == "later"
    listed = (await client.get("/api/v1/scheduled_statuses", headers=alice.headers)).json()
    assert [s["id"] for s in listed] == [created.json()["id"]]
    assert (
        await client.delete(f"/api/v1/scheduled_statuses/{created.json()['id']}", headers=alice.headers)
    ).status_code == 200
    assert (await client.get("/api/v1/scheduled_statuses", headers=alice.headers)).json() == []


async def test_profile_statuses_filters(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    first = (await _post(client, alice, status="plain #tagged")).json()
    (
        await _post(
            client,
            alice,
            status="@bob reply",
            in_reply_to_id=(await _post(client, bob, status="b")).json()["id"],
        )
    )
    await client.post(
        f"/api/v1/statuses/{(await _post(client, bob, status='c')).json()['id']}/reblog",
        headers=alice.headers,
    )
    everything = (await client.get(f"/api/v1/accounts/{alice.account_id}/statuses")).json()
    assert len(everything) == 3
    no_replies = (
        await client.get(f"/api/v1/accounts/{alice.account_id}/statuses", params={"exclude_replies": "1"})
    ).json()
    assert len(no_replies) == 2
    no_boosts = (
        await client.get(f"/api/v1/accounts/{alice.account_id}/statuses", params={"exclude_reblogs": "true"})
    ).json()
    assert len(no_boosts) == 2
    tagged = (
        await client.get(f"/api/v1/accounts/{alice.account_id}/statuses", params={"tagged": "Tagged"})
    ).json()
    assert [s["id"] for s in tagged] == [first["id"]]
    assert (await client.get("/api/v1/accounts/12345/statuses")).status_code == 404


async def _media(container: Container, account_id: int, key: str = "m/a.png") -> int:
    from kinfolk.domain.media.models import MediaAttachment

    async with container.db.uow() as uow:
        item = MediaAttachment(account_id=account_id, type="image", file_key=key, content_type="image/png")
        uow.session.add(item)
        await uow.session.flush()
        return item.id


async def test_private_self_boost_is_not_listed_in_reblogged_by(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    sid = (await _post(client, alice, status="secret", visibility="private")).json()["id"]
    boost = await client.post(
        f"/api/v1/statuses/{sid}/reblog", data={"visibility": "unlisted"}, headers=alice.headers
    )
    assert boost.status_code == 200 and boost.json()["visibility"] == "private"
    assert (await client.get(f"/api/v1/statuses/{sid}/reblogged_by", headers=alice.headers)).json() == []


async def test_delete_keeps_media_for_redraft_unless_asked(client, make_user, container, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    media_id = await _media(container, alice.account_id)
    first = (await _post(client, alice, status="with media", **{"media_ids[]": [str(media_id)]})).json()
    assert [m["id"] for m in first["media_attachments"]] == [str(media_id)]
    deleted = (await client.delete(f"/api/v1/statuses/{first['id']}", headers=alice.headers)).json()
    assert [m["id"] for m in deleted["media_attachments"]] == [str(media_id)]
    again = (await _post(client, alice, status="redraft", **{"media_ids[]": [str(media_id)]})).json()
    assert [m["id"] for m in again["media_attachments"]] == [str(media_id)]
    wiped = await client.delete(
        f"/api/v1/statuses/{again['id']}", params={"delete_media": "true"}, headers=alice.headers
    )
    assert wiped.status_code == 200
    await drain_jobs()
    refused = await _post(client, alice, status="third", **{"media_ids[]": [str(media_id)]})
    assert refused.status_code == 422


async def test_edit_changes_media_description_and_focus(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    media_id = await _media(container, alice.account_id)
    sid = (await _post(client, alice, status="pic", **{"media_ids[]": [str(media_id)]})).json()["id"]
    edited = await client.put(
        f"/api/v1/statuses/{sid}",
        json={
            "status": "pic",
            "media_ids": [str(media_id)],
            "media_attributes": [{"id": str(media_id), "description": "a cat", "focus": "0.2,-0.1"}],
        },
        headers=alice.headers,
    )
    assert edited.status_code == 200, edited.text
    media = edited.json()["media_attachments"][0]
    assert media["description"] == "a cat"
    assert media["meta"]["focus"] == {"x": 0.2, "y": -0.1}
    others = await _media(container, bob.account_id, key="m/b.png")
    refused = await client.put(
        f"/api/v1/statuses/{sid}",
        json={
            "status": "pic",
            "media_ids": [str(media_id)],
            "media_attributes": [{"id": str(others), "description": "x"}],
        },
        headers=alice.headers,
    )
    assert refused.status_code == 422


async def test_language_comes_from_the_client_or_the_users_defaults(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    from kinfolk.domain.accounts.models import User

    alice = await make_user("alice")
    assert (await _post(client, alice, status="bonjour", language="fr")).json()["language"] == "fr"
    assert (await _post(client, alice, status="hello")).json()["language"] == "en"
    async with container.db.uow() as uow:
        user = await uow.session.get(User, alice.user_id)
        assert user is not None
        user.locale = "ja"
    assert (await _post(client, alice, status="こんにちは")).json()["language"] == "ja"


async def test_media_that_failed_or_is_processing_cannot_be_posted(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    from kinfolk.domain.media.models import MediaAttachment

    alice = await make_user("alice")
    ids = []
    for state in ("failed", "processing"):
        async with container.db.uow() as uow:
            item = MediaAttachment(
                account_id=alice.account_id, type="video", state=state, content_type="video/mp4"
            )
            uow.session.add(item)
            await uow.session.flush()
            ids.append(item.id)
    for media_id in ids:
        response = await _post(client, alice, status="clip", **{"media_ids[]": [str(media_id)]})
        assert response.status_code == 422
    assert await _count_statuses(container) == 0


async def test_multiple_choice_polls_take_further_votes_for_other_options(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    poll = (
        await _post(
            client,
            alice,
            status="pick many",
            **{"poll[options][]": ["a", "b", "c"], "poll[expires_in]": "3600", "poll[multiple]": "true"},
        )
    ).json()["poll"]
    url = f"/api/v1/polls/{poll['id']}/votes"
    assert (await client.post(url, data={"choices[]": ["1"]}, headers=bob.headers)).status_code == 200
    second = await client.post(url, data={"choices[]": ["0"]}, headers=bob.headers)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["own_votes"] == [1, 0]
    assert body["votes_count"] == 2 and body["voters_count"] == 1
    assert (await client.post(url, data={"choices[]": ["0"]}, headers=bob.headers)).status_code == 422


async def test_a_poll_may_carry_media(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    media_id = await _media(container, alice.account_id)
    response = await _post(
        client,
        alice,
        status="vote",
        **{"media_ids[]": [str(media_id)], "poll[options][]": ["x", "y"], "poll[expires_in]": "3600"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["poll"] and [m["id"] for m in response.json()["media_attachments"]] == [
        str(media_id)
    ]


async def test_source_is_readable_by_anyone_who_sees_the_status(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    public = (await _post(client, alice, status="open #text")).json()["id"]
    private = (await _post(client, alice, status="closed", visibility="private")).json()["id"]
    assert (await client.get(f"/api/v1/statuses/{public}/source", headers=bob.headers)).json()[
        "text"
    ] == "open #text"
    assert (await client.get(f"/api/v1/statuses/{private}/source", headers=bob.headers)).status_code == 404


async def test_exclude_direct_on_profile_statuses(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await make_user("bob")
    public = (await _post(client, alice, status="hi")).json()["id"]
    await _post(client, alice, status="@bob psst", visibility="direct")
    listed = await client.get(
        f"/api/v1/accounts/{alice.account_id}/statuses",
        params={"exclude_direct": "true"},
        headers=alice.headers,
    )
    assert [s["id"] for s in listed.json()] == [public]


async def test_edit_replaces_a_thumbnail_sent_as_a_data_uri(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    import base64
    import io

    from PIL import Image

    alice = await make_user("alice")
    media_id = await _media(container, alice.account_id)
    sid = (await _post(client, alice, status="pic", **{"media_ids[]": [str(media_id)]})).json()["id"]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    edited = await client.put(
        f"/api/v1/statuses/{sid}",
        json={
            "status": "pic",
            "media_ids": [str(media_id)],
            "media_attributes": [{"id": str(media_id), "thumbnail": data_uri}],
        },
        headers=alice.headers,
    )
    assert edited.status_code == 200, edited.text
    preview = edited.json()["media_attachments"][0]["preview_url"]
    assert "thumb" in preview
    served = await client.get(preview.replace("https://kinfolk.test", ""))
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
    garbage = await client.put(
        f"/api/v1/statuses/{sid}",
        json={
            "status": "pic",
            "media_ids": [str(media_id)],
            "media_attributes": [{"id": str(media_id), "thumbnail": "data:image/png;base64,!!!"}],
        },
        headers=alice.headers,
    )
    assert garbage.status_code == 422


async def test_opening_a_remote_thread_asks_once_for_its_backfill(client, container, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_remote_account(container, "bob", "remote.example")
    root = await make_remote_status(container, bob, "root")
    reply = await make_remote_status(container, bob, "reply", in_reply_to=root)
    local = (await _post(client, alice, status="local")).json()
    for status_id in (root.id, reply.id, reply.id, int(local["id"])):
        answer = await client.get(f"/api/v1/statuses/{status_id}/context", headers=alice.headers)
        assert answer.status_code == 200
    async with container.db.uow(write=False) as uow:
        jobs = list((await uow.session.execute(select(Job).where(Job.kind == THREAD_JOB))).scalars())
    assert [job.payload for job in jobs] == [{"status_id": root.id}]
