"""Public and hashtag timelines (local, remote, only_media, any/all/none) and the link timeline."""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.remote import make_remote_account, make_remote_status

from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.relationships.models import Mute

PUBLIC = "/api/v1/timelines/public"
_LINK_RE = re.compile(r'<([^>]+)>; rel="(\w+)"')


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _remote_status(container: Container, text: str, tag: str | None = None) -> str:
    """A status from another server, stored as federation stores it."""
    account = await make_remote_account(container, "faraway", "remote.example")
    status = await make_remote_status(container, account, text, tag_names=[tag] if tag else [])
    return str(status.id)


async def test_public_timeline_local_remote_and_media(client, make_user, container: Container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    first = await post(client, alice, "hello world")
    await post(client, bob, "quiet", visibility="unlisted")
    await post(client, bob, "secret", visibility="private")
    await post(client, bob, "psst @alice", visibility="direct")
    reply_other = await post(client, bob, "@alice yes", in_reply_to_id=first["id"])
    self_reply = await post(client, alice, "and more", in_reply_to_id=first["id"])
    boost = (await client.post(f"/api/v1/statuses/{first['id']}/reblog", headers=bob.headers)).json()
    async with container.db.uow() as uow:
        media = MediaAttachment(account_id=bob.account_id, type="image", file_key="x/pic.png")
        uow.session.add(media)
        await uow.session.flush()
        media_id = str(media.id)
    with_media = await post(client, bob, "a picture", **{"media_ids[]": [media_id]})
    remote = await _remote_status(container, "from afar")

    everything = ids(await client.get(PUBLIC))
    assert everything == [remote, with_media["id"], self_reply["id"], first["id"]]
    assert reply_other["id"] not in everything and boost["id"] not in everything
    local = ids(await client.get(PUBLIC, params={"local": "true"}))
    assert local == [with_media["id"], self_reply["id"], first["id"]]
    assert ids(await client.get(PUBLIC, params={"remote": "true"})) == [remote]
    assert ids(await client.get(PUBLIC, params={"only_media": "true"})) == [with_media["id"]]

    response = await client.get(PUBLIC, params={"local": "true", "limit": "2"})
    found = {rel: url for url, rel in _LINK_RE.findall(response.headers["link"])}
    assert found["next"] == f"https://kinfolk.test{PUBLIC}?local=true&limit=2&max_id={self_reply['id']}"
    assert ids(await client.get(found["next"])) == [first["id"]]
    # Anonymous viewers get no viewer flags; signed-in ones do.
    assert "favourited" not in (await client.get(PUBLIC)).json()[0]
    assert (await client.get(PUBLIC, headers=alice.headers)).json()[0]["favourited"] is False


async def test_public_timeline_hides_what_the_viewer_shuns(client, make_user, container: Container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    by_bob = await post(client, bob, "bob here")
    by_carol = await post(client, carol, "carol here")
    assert ids(await client.get(PUBLIC, headers=alice.headers)) == [by_carol["id"], by_bob["id"]]
    async with container.db.uow() as uow:
        uow.session.add(Mute(account_id=alice.account_id, target_account_id=bob.account_id))
    assert ids(await client.get(PUBLIC, headers=alice.headers)) == [by_carol["id"]]
    await client.post(f"/api/v1/accounts/{alice.account_id}/block", headers=carol.headers)
    assert ids(await client.get(PUBLIC, headers=alice.headers)) == []
    assert ids(await client.get(PUBLIC)) == [by_carol["id"], by_bob["id"]]
    # A token that may not read statuses is refused, an invalid one too.
    writer = await make_user("writer", scopes="write")
    assert (await client.get(PUBLIC, headers=writer.headers)).status_code == 403
    assert (await client.get(PUBLIC, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_hashtag_timeline_with_any_all_none(client, make_user, container: Container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    cats = await post(client, alice, "#Cats are great")
    both = await post(client, alice, "#cats and #dogs")
    dogs = await post(client, alice, "#dogs only")
    birds = await post(client, alice, "#birds #cats")
    await post(client, alice, "#cats secret", visibility="private")
    remote = await _remote_status(container, "remote cats", tag="cats")
    tag = "/api/v1/timelines/tag"

    assert ids(await client.get(f"{tag}/cats")) == [remote, birds["id"], both["id"], cats["id"]]
    assert ids(await client.get(f"{tag}/CATS", params={"local": "1"})) == [
        birds["id"],
        both["id"],
        cats["id"],
    ]
    assert ids(await client.get(f"{tag}/cats", params={"remote": "1"})) == [remote]
    assert ids(await client.get(f"{tag}/cats", params={"all[]": ["dogs"]})) == [both["id"]]
    assert ids(await client.get(f"{tag}/cats", params={"none[]": ["dogs", "birds"]})) == [remote, cats["id"]]
    assert ids(await client.get(f"{tag}/dogs", params={"any[]": ["birds"]})) == [
        birds["id"],
        dogs["id"],
        both["id"],
    ]
    assert ids(await client.get(f"{tag}/nothing")) == []
    assert ids(await client.get(f"{tag}/cats", params={"all[]": ["unknown"]})) == []
    assert ids(await client.get(f"{tag}/cats", params={"limit": "1", "max_id": both["id"]})) == [cats["id"]]


async def test_link_timeline_is_not_found_unless_trending(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    response = await client.get(
        "/api/v1/timelines/link", params={"url": "http://example.com/"}, headers=alice.headers
    )
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}
    assert (await client.get("/api/v1/timelines/link", headers=alice.headers)).status_code == 400
