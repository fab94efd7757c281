"""Direct conversations: kept for the author and each recipient, unread for recipients, paged by
their last status, removed when their statuses go."""

from __future__ import annotations

from typing import Any

import httpx

CONVERSATIONS = "/api/v1/conversations"


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_direct_messages_make_conversations(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    # Private mentions from people one does not follow are held back by the default
    # notification policy (and then open no conversation), as in Mastodon.
    await client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers)
    first = await post(client, alice, "@bob psst", visibility="direct")
    await post(client, alice, "@bob not direct")
    await drain_jobs()

    mine = (await client.get(CONVERSATIONS, headers=alice.headers)).json()
    assert len(mine) == 1
    assert mine[0]["unread"] is False
    assert [a["id"] for a in mine[0]["accounts"]] == [str(bob.account_id)]
    assert mine[0]["last_status"]["id"] == first["id"]
    theirs = (await client.get(CONVERSATIONS + "/", headers=bob.headers)).json()
    assert len(theirs) == 1 and theirs[0]["unread"] is True
    assert [a["id"] for a in theirs[0]["accounts"]] == [str(alice.account_id)]
    assert (await client.get(CONVERSATIONS, headers=carol.headers)).json() == []

    reply = await post(client, bob, "@alice @carol ok", visibility="direct", in_reply_to_id=first["id"])
    await drain_jobs()
    mine = (await client.get(CONVERSATIONS, headers=alice.headers)).json()
    assert mine[0]["last_status"]["id"] == reply["id"] and mine[0]["unread"] is True
    assert sorted(a["id"] for a in mine[0]["accounts"]) == sorted(
        [str(bob.account_id), str(carol.account_id)]
    )
    theirs = (await client.get(CONVERSATIONS, headers=bob.headers)).json()
    assert theirs[0]["unread"] is False  # bob wrote the last one

    read = await client.post(f"{CONVERSATIONS}/{mine[0]['id']}/read", headers=alice.headers)
    assert read.status_code == 200 and read.json()["unread"] is False
    assert (await client.get(CONVERSATIONS, headers=alice.headers)).json()[0]["unread"] is False
    # Someone else's conversation is not found.
    assert (
        await client.post(f"{CONVERSATIONS}/{mine[0]['id']}/read", headers=bob.headers)
    ).status_code == 404
    assert (await client.delete(f"{CONVERSATIONS}/{mine[0]['id']}", headers=carol.headers)).status_code == 404

    # Deleting the last status falls back to the one before; deleting both ends the conversation.
    await client.delete(f"/api/v1/statuses/{reply['id']}", headers=bob.headers)
    await drain_jobs()
    assert (await client.get(CONVERSATIONS, headers=alice.headers)).json()[0]["last_status"]["id"] == first[
        "id"
    ]
    await client.delete(f"/api/v1/statuses/{first['id']}", headers=alice.headers)
    await drain_jobs()
    assert (await client.get(CONVERSATIONS, headers=alice.headers)).json() == []
    assert (await client.get(CONVERSATIONS, headers=bob.headers)).json() == []


async def test_conversations_page_and_remove(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    friends = [await make_user(f"friend{i}") for i in range(3)]
    sent = [await post(client, alice, f"@{f.username} hi", visibility="direct") for f in friends]
    await drain_jobs()
    page = await client.get(CONVERSATIONS, params={"limit": "2"}, headers=alice.headers)
    assert [c["last_status"]["id"] for c in page.json()] == [sent[2]["id"], sent[1]["id"]]
    assert f"max_id={sent[1]['id']}" in page.headers["link"]
    rest = await client.get(CONVERSATIONS, params={"max_id": sent[1]["id"]}, headers=alice.headers)
    assert [c["last_status"]["id"] for c in rest.json()] == [sent[0]["id"]]

    gone = page.json()[0]["id"]
    assert (await client.delete(f"{CONVERSATIONS}/{gone}", headers=alice.headers)).json() == {}
    assert gone not in [c["id"] for c in (await client.get(CONVERSATIONS, headers=alice.headers)).json()]
    assert (await client.get(CONVERSATIONS)).status_code == 401
    reader = await make_user("reader", scopes="read")
    assert (await client.delete(f"{CONVERSATIONS}/{gone}", headers=reader.headers)).status_code == 403


async def test_a_muted_or_unknown_sender_starts_no_conversation(client, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await post(client, carol, "@alice who are you?", visibility="direct")
    assert (
        await client.post(f"/api/v1/accounts/{bob.account_id}/mute", headers=alice.headers)
    ).status_code == 200
    await post(client, bob, "@alice hello?", visibility="direct")
    await drain_jobs()
    assert (await client.get(CONVERSATIONS, headers=alice.headers)).json() == []
    assert len((await client.get(CONVERSATIONS, headers=bob.headers)).json()) == 1
