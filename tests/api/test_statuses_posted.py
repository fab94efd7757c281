"""A post's response is rendered from what the post made (api/entities/status.py `render_posted`),
not read back: it must be exactly what reading the status gives its author."""

from __future__ import annotations

from typing import Any

import httpx

from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment


async def _media(container: Container, account_id: int, key: str, description: str) -> int:
    async with container.db.uow() as uow:
        item = MediaAttachment(
            account_id=account_id,
            type="image",
            file_key=key,
            content_type="image/png",
            description=description,
            meta={"original": {"width": 4, "height": 3, "size": "4x3", "aspect": 1.333}},
        )
        uow.session.add(item)
        await uow.session.flush()
        return item.id


async def _same_as_read(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    posted = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    read = await client.get(f"/api/v1/statuses/{body['id']}", headers=user.headers)
    assert read.status_code == 200
    assert body == read.json()
    return body


async def test_posted_status_renders_as_it_reads(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await make_user("bob")
    await make_user("carol")

    plain = await _same_as_read(client, alice, status="hello")
    assert plain["application"] is not None and plain["application"]["name"] == "test-alice"

    tagged = await _same_as_read(
        client, alice, status="@bob and @carol: #Zeta #alpha #Mid #alpha https://example.com/x", language="de"
    )
    assert [m["username"] for m in tagged["mentions"]] == ["bob", "carol"]
    assert sorted(t["name"] for t in tagged["tags"]) == ["alpha", "mid", "zeta"]

    first = await _media(container, alice.account_id, "m/1.png", "first")
    second = await _media(container, alice.account_id, "m/2.png", "second")
    with_media = await _same_as_read(
        client,
        alice,
        status="pictures",
        sensitive="true",
        spoiler_text="cw",
        **{"media_ids[]": [str(second), str(first)]},
    )
    assert [m["description"] for m in with_media["media_attachments"]] == ["second", "first"]

    polled = await _same_as_read(
        client,
        alice,
        status="which?",
        visibility="unlisted",
        **{"poll[options][]": ["x", "y"], "poll[expires_in]": "3600", "poll[multiple]": "true"},
    )
    assert polled["poll"]["multiple"] is True and polled["poll"]["own_votes"] == []

    await _same_as_read(client, alice, status="@bob only you", visibility="direct")
    await _same_as_read(
        client, alice, status="followers", visibility="private", quote_approval_policy="nobody"
    )


async def test_replies_and_quotes_render_as_they_read(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    root = (await client.post("/api/v1/statuses", data={"status": "root"}, headers=bob.headers)).json()

    reply = await _same_as_read(client, alice, status="@bob a reply", in_reply_to_id=root["id"])
    assert reply["in_reply_to_id"] == root["id"] and reply["muted"] is False

    # Alice mutes the thread; her next reply in it says so.
    muted = await client.post(f"/api/v1/statuses/{reply['id']}/mute", headers=alice.headers)
    assert muted.status_code == 200 and muted.json()["muted"] is True
    again = await _same_as_read(client, alice, status="@bob still here", in_reply_to_id=root["id"])
    assert again["muted"] is True

    quote = await _same_as_read(client, alice, status="look", quoted_status_id=root["id"])
    assert quote["quote"]["quoted_status"]["id"] == root["id"]


async def test_an_idempotent_retry_answers_with_the_first_status(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    headers = {**alice.headers, "Idempotency-Key": "once"}
    first = await client.post("/api/v1/statuses", data={"status": "#once"}, headers=headers)
    retry = await client.post("/api/v1/statuses", data={"status": "#once"}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
