"""Statuses as `Note`/`Question`, their `Create`, and boosts as `Announce`, fetched over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from PIL import Image

from kinfolk.container import Container
from kinfolk.domain.statuses.repo import get_status
from kinfolk.federation import repo
from kinfolk.federation.http.routes import render_env
from kinfolk.federation.render.create import render_create
from kinfolk.federation.render.note import render_note
from tests.domain.media import samples
from tests.federation.helpers import BASE, PUBLIC, ap_get, ap_json, post


async def test_public_status_as_note_and_create(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="Hello world", visibility="public", language="en")
    sid = status["id"]
    me = f"{BASE}/users/alice"
    note = await ap_json(client, f"/users/alice/statuses/{sid}")
    assert note["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert note["id"] == f"{me}/statuses/{sid}" == status["uri"]
    assert note["type"] == "Note"
    assert note["url"] == f"{BASE}/@alice/{sid}" == status["url"]
    assert note["attributedTo"] == me
    assert note["to"] == [PUBLIC]
    assert note["cc"] == [f"{me}/followers"]
    assert note["inReplyTo"] is None
    assert note["summary"] is None
    assert note["sensitive"] is False
    assert note["content"] == status["content"]
    assert note["contentMap"] == {"en": status["content"]}
    assert note["published"].endswith("Z")
    assert "updated" not in note
    # As Mastodon 4.4: `conversation` the OStatus tag, `context` the thread's collection here.
    assert (
        note["context"]
        == f"https://kinfolk.test/contexts/{note['conversation'].split('objectId=')[1].split(':')[0]}"
    )
    assert note["conversation"].startswith("tag:kinfolk.test,")
    assert note["attachment"] == [] and note["tag"] == []
    assert note["replies"]["id"] == f"{me}/statuses/{sid}/replies"
    assert note["replies"]["first"]["type"] == "CollectionPage"
    # The page URL serves the same document to a server.
    assert await ap_json(client, f"/@alice/{sid}") == note

    create = await ap_json(client, f"/users/alice/statuses/{sid}/activity")
    assert create["id"] == f"{me}/statuses/{sid}/activity"
    assert create["type"] == "Create"
    assert create["actor"] == me
    assert create["to"] == note["to"] and create["cc"] == note["cc"]
    embedded = dict(note)
    del embedded["@context"]
    assert create["object"] == embedded


@pytest.mark.parametrize(
    ("visibility", "to", "cc"),
    [
        ("public", ["PUBLIC"], ["FOLLOWERS", "BOB"]),
        ("unlisted", ["FOLLOWERS"], ["PUBLIC", "BOB"]),
        ("private", ["FOLLOWERS"], ["BOB"]),
        ("direct", ["BOB"], []),
    ],
)
async def test_visibility_becomes_addressing(
    visibility: str,
    to: list[str],
    cc: list[str],
    client: httpx.AsyncClient,
    make_user: Any,
    container: Container,
) -> None:
    """Rendered from the rows directly, since private and direct statuses are never served
    to an unsigned fetch (tests/federation/test_http_visibility.py)."""
    alice = await make_user("alice")
    await make_user("bob")
    status = await post(client, alice, status="hi @bob", visibility=visibility)
    names = {"PUBLIC": PUBLIC, "FOLLOWERS": f"{BASE}/users/alice/followers", "BOB": f"{BASE}/users/bob"}
    env = render_env(container)
    async with container.db.uow(write=False) as uow:
        row = await get_status(uow.session, int(status["id"]))
        assert row is not None
        [rows] = await repo.note_rows(uow.session, env, [row])
    note = render_note(env, rows)
    assert note["to"] == [names[n] for n in to]
    assert note["cc"] == [names[n] for n in cc]
    create = render_create(env, rows)
    assert (create["to"], create["cc"]) == (note["to"], note["cc"])
    assert {"type": "Mention", "href": f"{BASE}/users/bob", "name": "@bob@kinfolk.test"} in note["tag"]


async def test_reply_mentions_and_hashtags(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    parent = await post(client, alice, status="first")
    reply = await post(client, bob, status="@alice yes #Kinfolk", in_reply_to_id=parent["id"])
    note = await ap_json(client, f"/users/bob/statuses/{reply['id']}")
    assert note["inReplyTo"] == f"{BASE}/users/alice/statuses/{parent['id']}"
    parent_note = await ap_json(client, f"/users/alice/statuses/{parent['id']}")
    assert note["conversation"] == parent_note["conversation"]
    assert note["tag"] == [
        {"type": "Mention", "href": f"{BASE}/users/alice", "name": "@alice@kinfolk.test"},
        {"type": "Hashtag", "href": f"{BASE}/tags/kinfolk", "name": "#Kinfolk"},
    ]
    assert f"{BASE}/users/alice" in note["cc"]
    # The tag link answers.
    assert (await client.get("/api/v1/timelines/tag/kinfolk")).status_code == 200


async def test_spoiler_and_sensitive(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="boo", spoiler_text="scary", sensitive="true")
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    assert note["summary"] == "scary"
    assert note["sensitive"] is True


async def test_poll_is_a_question(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(
        client, alice, status="pick", **{"poll[options][]": ["tea", "coffee"], "poll[expires_in]": "3600"}
    )
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    assert note["type"] == "Question"
    assert [o["name"] for o in note["oneOf"]] == ["tea", "coffee"]
    assert all(o["type"] == "Note" and o["replies"]["totalItems"] == 0 for o in note["oneOf"])
    assert note["votersCount"] == 0
    assert note["endTime"].endswith("Z")
    assert "closed" not in note
    multiple = await post(
        client,
        alice,
        status="many",
        **{"poll[options][]": ["a", "b"], "poll[expires_in]": "3600", "poll[multiple]": "true"},
    )
    assert "anyOf" in await ap_json(client, f"/users/alice/statuses/{multiple['id']}")


async def test_edited_status_has_updated(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="typo")
    edited = await client.put(
        f"/api/v1/statuses/{status['id']}", data={"status": "fixed"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    assert "fixed" in note["content"]
    assert note["updated"].endswith("Z")
    assert note["updated"] >= note["published"]


async def test_boost_is_an_announce(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    original = await post(client, alice, status="boost me")
    boosted = await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers)
    assert boosted.status_code == 200, boosted.text
    boost_id = boosted.json()["id"]
    announce = await ap_json(client, f"/users/bob/statuses/{boost_id}/activity")
    assert announce["type"] == "Announce"
    assert announce["id"] == f"{BASE}/users/bob/statuses/{boost_id}/activity"
    assert announce["actor"] == f"{BASE}/users/bob"
    assert announce["object"] == f"{BASE}/users/alice/statuses/{original['id']}"
    assert announce["to"] == [PUBLIC]
    assert announce["cc"] == [f"{BASE}/users/alice", f"{BASE}/users/bob/followers"]
    # A boost is no Note of its own.
    assert (await ap_get(client, f"/users/bob/statuses/{boost_id}")).status_code == 404


async def test_media_as_documents(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    image = samples.image_bytes(Image.new("RGB", (64, 48), (10, 200, 30)), "PNG")
    uploaded = await client.post(
        "/api/v2/media",
        headers=alice.headers,
        files={"file": ("p.png", image, "image/png")},
        data={"description": "a green field", "focus": "0.5,-0.25"},
    )
    assert uploaded.status_code == 200, uploaded.text
    media = uploaded.json()
    status = await post(client, alice, status="look", **{"media_ids[]": [media["id"]]})
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    [attachment] = note["attachment"]
    assert attachment["type"] in ("Image", "Document")
    assert attachment["mediaType"].startswith("image/")
    assert attachment["url"] == media["url"]
    assert attachment["name"] == "a green field"
    assert attachment["blurhash"] == media["blurhash"]
    assert attachment["focalPoint"] == [0.5, -0.25]
    assert (attachment["width"], attachment["height"]) == (64, 48)


async def test_replies_collection_answers(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    parent = await post(client, alice, status="thread")
    reply = await post(client, bob, status="@alice public reply", in_reply_to_id=parent["id"])
    await post(client, bob, status="@alice hidden reply", in_reply_to_id=parent["id"], visibility="direct")
    note = await ap_json(client, f"/users/alice/statuses/{parent['id']}")
    replies = await ap_json(client, note["replies"]["id"][len(BASE) :])
    assert replies["type"] == "Collection"
    assert replies["first"]["items"] == [f"{BASE}/users/bob/statuses/{reply['id']}"]
    page = await ap_json(client, note["replies"]["first"]["next"][len(BASE) :])
    assert page["type"] == "CollectionPage"
    assert page["items"] == replies["first"]["items"]
