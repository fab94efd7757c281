"""Filters v2 and v1 through the HTTP API: CRUD, keywords, statuses, ownership and validation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.filters.models import Filter, FilterKeyword


async def _count(container: Container, model: type) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def _create(client: httpx.AsyncClient, user, **body):  # type: ignore[no-untyped-def]
    payload = {"title": "Spoilers", "context": ["home", "public"], "filter_action": "warn"} | body
    return await client.post("/api/v2/filters", json=payload, headers=user.headers)


async def test_v2_filter_lifecycle(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    created = await _create(
        client,
        alice,
        expires_in=3600,
        keywords_attributes=[
            {"keyword": "spam", "whole_word": True},
            {"keyword": "eggs", "whole_word": False},
        ],
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["title"] == "Spoilers"
    assert body["context"] == ["home", "public"]
    assert body["filter_action"] == "warn"
    assert [(k["keyword"], k["whole_word"]) for k in body["keywords"]] == [("spam", True), ("eggs", False)]
    assert body["statuses"] == []
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert 3500 < (expires - datetime.now(UTC)).total_seconds() <= 3600
    filter_id = body["id"]

    listed = await client.get("/api/v2/filters", headers=alice.headers)
    assert [f["id"] for f in listed.json()] == [filter_id]
    shown = await client.get(f"/api/v2/filters/{filter_id}", headers=alice.headers)
    assert shown.json() == body

    spam_id = body["keywords"][0]["id"]
    eggs_id = body["keywords"][1]["id"]
    updated = await client.put(
        f"/api/v2/filters/{filter_id}",
        json={
            "title": "Updated",
            "filter_action": "blur",
            "expires_in": "",
            "keywords_attributes": [
                {"id": spam_id, "keyword": "SPAM", "whole_word": False},
                {"id": eggs_id, "_destroy": True},
                {"keyword": "ham"},
            ],
        },
        headers=alice.headers,
    )
    assert updated.status_code == 200, updated.text
    after = updated.json()
    assert after["title"] == "Updated" and after["filter_action"] == "blur"
    assert after["expires_at"] is None
    assert after["context"] == ["home", "public"]
    assert [(k["keyword"], k["whole_word"]) for k in after["keywords"]] == [("SPAM", False), ("ham", True)]

    deleted = await client.delete(f"/api/v2/filters/{filter_id}", headers=alice.headers)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await client.get(f"/api/v2/filters/{filter_id}", headers=alice.headers)).status_code == 404
    assert await _count(container, FilterKeyword) == 0


async def test_form_encoded_rails_arrays(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    # As Rails reads it: a new keyword starts whenever a field repeats.
    form = [
        ("title", "Form"),
        ("context[]", "home"),
        ("context[]", "thread"),
        ("filter_action", "hide"),
        ("keywords_attributes[][keyword]", "one"),
        ("keywords_attributes[][whole_word]", "false"),
        ("keywords_attributes[][keyword]", "two"),
        ("keywords_attributes[][whole_word]", "true"),
    ]
    response = await client.post(
        "/api/v2/filters",
        content=urlencode(form),
        headers=alice.headers | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["context"] == ["home", "thread"]
    assert body["filter_action"] == "hide"
    assert [(k["keyword"], k["whole_word"]) for k in body["keywords"]] == [("one", False), ("two", True)]
    indexed = await client.post(
        "/api/v2/filters",
        data={
            "title": "Indexed",
            "context[]": "notifications",
            "keywords_attributes[0][keyword]": "a",
            "keywords_attributes[1][keyword]": "b",
            "keywords_attributes[1][whole_word]": "0",
        },
        headers=alice.headers,
    )
    assert indexed.status_code == 200, indexed.text
    assert [(k["keyword"], k["whole_word"]) for k in indexed.json()["keywords"]] == [
        ("a", True),
        ("b", False),
    ]


async def test_validation_errors_create_nothing(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    cases = [
        ({"title": ""}, "Title can't be blank"),
        ({"context": []}, "Context can't be blank"),
        ({"context": ["home", "everywhere"]}, "invalid context"),
        ({"filter_action": "explode"}, "filter_action"),
        ({"expires_in": "soon"}, "Expires in"),
        ({"expires_in": -5}, "Expires in"),
        (
            {"keywords_attributes": [{"keyword": "ok"}, {"keyword": "", "whole_word": True}]},
            "keyword can't be blank",
        ),
        ({"title": "x" * 300}, "too long"),
    ]
    for body, message in cases:
        response = await _create(client, alice, **body)
        assert response.status_code == 422, (body, response.text)
        assert message in response.json()["error"], (body, response.json())
    assert await _count(container, Filter) == 0
    assert await _count(container, FilterKeyword) == 0


async def test_other_users_filters_are_not_found(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    mallory = await make_user("mallory")
    bob = await make_user("bob")
    status = (await client.post("/api/v1/statuses", data={"status": "hello"}, headers=bob.headers)).json()
    body = (await _create(client, alice, keywords_attributes=[{"keyword": "secret"}])).json()
    filter_id = body["id"]
    keyword_id = body["keywords"][0]["id"]
    added = await client.post(
        f"/api/v2/filters/{filter_id}/statuses", data={"status_id": status["id"]}, headers=alice.headers
    )
    assert added.status_code == 200, added.text
    filter_status_id = added.json()["id"]
    probes = [
        ("GET", f"/api/v2/filters/{filter_id}", None),
        ("PUT", f"/api/v2/filters/{filter_id}", {"title": "mine"}),
        ("DELETE", f"/api/v2/filters/{filter_id}", None),
        ("GET", f"/api/v2/filters/{filter_id}/keywords", None),
        ("POST", f"/api/v2/filters/{filter_id}/keywords", {"keyword": "x"}),
        ("GET", f"/api/v2/filters/keywords/{keyword_id}", None),
        ("PUT", f"/api/v2/filters/keywords/{keyword_id}", {"keyword": "x"}),
        ("DELETE", f"/api/v2/filters/keywords/{keyword_id}", None),
        ("GET", f"/api/v2/filter_keywords/{keyword_id}", None),
        ("GET", f"/api/v2/filters/{filter_id}/statuses", None),
        ("POST", f"/api/v2/filters/{filter_id}/statuses", {"status_id": status["id"]}),
        ("GET", f"/api/v2/filters/statuses/{filter_status_id}", None),
        ("DELETE", f"/api/v2/filters/statuses/{filter_status_id}", None),
        ("DELETE", f"/api/v2/filter_statuses/{filter_status_id}", None),
        ("GET", f"/api/v1/filters/{keyword_id}", None),
        ("PUT", f"/api/v1/filters/{keyword_id}", {"phrase": "x"}),
        ("DELETE", f"/api/v1/filters/{keyword_id}", None),
    ]
    for method, url, data in probes:
        response = await client.request(method, url, json=data, headers=mallory.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json() == {"error": "Record not found"}
    assert (await client.get("/api/v2/filters", headers=mallory.headers)).json() == []
    assert (await client.get("/api/v1/filters", headers=mallory.headers)).json() == []
    mine = (await client.get(f"/api/v2/filters/{filter_id}", headers=alice.headers)).json()
    assert mine == (await client.get(f"/api/v2/filters/{filter_id}", headers=alice.headers)).json()
    assert mine["title"] == "Spoilers" and len(mine["keywords"]) == 1 and len(mine["statuses"]) == 1


async def test_keywords_and_statuses_endpoints(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    private = (
        await client.post(
            "/api/v1/statuses", data={"status": "psst", "visibility": "private"}, headers=bob.headers
        )
    ).json()
    public = (await client.post("/api/v1/statuses", data={"status": "hi"}, headers=bob.headers)).json()
    filter_id = (await _create(client, alice)).json()["id"]

    added = await client.post(
        f"/api/v2/filters/{filter_id}/keywords",
        data={"keyword": "foo", "whole_word": "false"},
        headers=alice.headers,
    )
    assert added.status_code == 200, added.text
    keyword = added.json()
    assert keyword["keyword"] == "foo" and keyword["whole_word"] is False
    changed = await client.put(
        f"/api/v2/filters/keywords/{keyword['id']}", data={"keyword": "bar"}, headers=alice.headers
    )
    assert changed.json() == {"id": keyword["id"], "keyword": "bar", "whole_word": False}
    assert (await client.get(f"/api/v2/filters/{filter_id}/keywords", headers=alice.headers)).json() == [
        changed.json()
    ]
    assert (
        await client.delete(f"/api/v2/filter_keywords/{keyword['id']}", headers=alice.headers)
    ).json() == {}
    assert (await client.get(f"/api/v2/filters/{filter_id}/keywords", headers=alice.headers)).json() == []

    # A status the owner cannot see cannot be filtered (nor probed for existence).
    hidden = await client.post(
        f"/api/v2/filters/{filter_id}/statuses", data={"status_id": private["id"]}, headers=alice.headers
    )
    assert hidden.status_code == 404
    added = await client.post(
        f"/api/v2/filters/{filter_id}/statuses", data={"status_id": public["id"]}, headers=alice.headers
    )
    assert added.json()["status_id"] == public["id"]
    again = await client.post(
        f"/api/v2/filters/{filter_id}/statuses", data={"status_id": public["id"]}, headers=alice.headers
    )
    assert again.status_code == 422
    row_id = added.json()["id"]
    assert (
        await client.get(f"/api/v2/filters/statuses/{row_id}", headers=alice.headers)
    ).json() == added.json()
    assert (await client.get(f"/api/v2/filters/{filter_id}/statuses", headers=alice.headers)).json() == [
        added.json()
    ]
    assert (await client.delete(f"/api/v2/filters/statuses/{row_id}", headers=alice.headers)).json() == {}
    assert (await client.get(f"/api/v2/filters/{filter_id}/statuses", headers=alice.headers)).json() == []


async def test_v1_filters_map_onto_v2(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    created = await client.post(
        "/api/v1/filters",
        data={
            "phrase": "anime",
            "context[]": ["notifications"],
            "irreversible": "true",
            "whole_word": "false",
        },
        headers=alice.headers,
    )
    assert created.status_code == 200, created.text
    v1 = created.json()
    assert v1 == {
        "id": v1["id"],
        "phrase": "anime",
        "context": ["notifications"],
        "whole_word": False,
        "expires_at": None,
        "irreversible": True,
    }
    (v2,) = (await client.get("/api/v2/filters", headers=alice.headers)).json()
    assert v2["title"] == "anime" and v2["filter_action"] == "hide"
    assert v2["keywords"] == [{"id": v1["id"], "keyword": "anime", "whole_word": False}]
    assert (await client.get("/api/v1/filters", headers=alice.headers)).json() == [v1]

    updated = await client.put(
        f"/api/v1/filters/{v1['id']}",
        data={"phrase": "japanimation", "irreversible": "false"},
        headers=alice.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["phrase"] == "japanimation" and updated.json()["irreversible"] is False
    assert (await client.get(f"/api/v1/filters/{v1['id']}", headers=alice.headers)).json() == updated.json()

    # With two keywords, v1 may change the keyword but not the filter they share.
    await client.post(
        f"/api/v2/filters/{v2['id']}/keywords", data={"keyword": "manga"}, headers=alice.headers
    )
    refused = await client.put(
        f"/api/v1/filters/{v1['id']}", data={"context[]": ["home"]}, headers=alice.headers
    )
    assert refused.status_code == 422
    ok = await client.put(f"/api/v1/filters/{v1['id']}", data={"whole_word": "true"}, headers=alice.headers)
    assert ok.status_code == 200 and ok.json()["whole_word"] is True
    assert len((await client.get("/api/v1/filters", headers=alice.headers)).json()) == 2

    assert (await client.delete(f"/api/v1/filters/{v1['id']}", headers=alice.headers)).json() == {}
    (left,) = (await client.get("/api/v2/filters", headers=alice.headers)).json()
    assert [k["keyword"] for k in left["keywords"]] == ["manga"]

    missing_context = await client.post("/api/v1/filters", data={"phrase": "x"}, headers=alice.headers)
    assert missing_context.status_code == 422


async def test_scopes_and_authentication(client, make_user) -> None:  # type: ignore[no-untyped-def]
    reader = await make_user("reader", scopes="read")
    assert (await client.get("/api/v2/filters")).status_code == 401
    assert (await client.get("/api/v2/filters", headers=reader.headers)).status_code == 200
    refused = await _create(client, reader)
    assert refused.status_code == 403
    filters_only = await make_user("narrow", scopes="read:filters write:filters")
    assert (await _create(client, filters_only)).status_code == 200


async def test_changes_reach_open_streams(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    channel = f"timeline:system:{alice.account_id}"
    subscription = await container.pubsub.subscribe([channel])
    try:
        created = await _create(client, alice)
        assert (await asyncio.wait_for(subscription.get(), 5))[0] == channel
        await client.put(
            f"/api/v2/filters/{created.json()['id']}", json={"title": "x"}, headers=alice.headers
        )
        _, message = await asyncio.wait_for(subscription.get(), 5)
        assert b"filters_changed" in message
        # A failed change publishes nothing.
        await client.put(f"/api/v2/filters/{created.json()['id']}", json={"title": ""}, headers=alice.headers)
        await client.delete(f"/api/v2/filters/{created.json()['id']}", headers=alice.headers)
        _, message = await asyncio.wait_for(subscription.get(), 5)
        assert b"filters_changed" in message
        assert subscription.get_nowait() is None
    finally:
        await subscription.close()
