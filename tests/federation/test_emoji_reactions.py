"""Emoji reactions count as favourites: Pleroma's `EmojiReact` and Misskey's `Like` with
`_misskey_reaction`, one per actor and status, removed by their `Undo`."""

from __future__ import annotations

from kinfolk.domain.statuses.models import Favourite, StatusStats
from tests.federation.inbox_support import Remote, activity, remote, settings
from tests.federation.test_activities_follow import account_id, deliver, rows

__all__ = ["remote", "settings"]  # fixtures


async def test_emoji_reactions_are_favourites(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    response = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "react to me"})
    assert response.status_code == 200, response.text
    status_id, status_uri = int(response.json()["id"]), response.json()["uri"]
    pleroma, misskey = remote.actor("lain"), remote.actor("ai", host="other.test")

    react = activity(pleroma, "EmojiReact", status_uri, content="👌")
    await deliver(client, container, react, pleroma)
    # A second reaction by the same actor is the same one favourite.
    await deliver(
        client, container, activity(pleroma, "EmojiReact", status_uri, number=2, content="🎉"), pleroma
    )
    misskey_like = activity(misskey, "Like", status_uri, content="🍮", _misskey_reaction="🍮")
    await deliver(client, container, misskey_like, misskey)
    lain, ai = await account_id(container, pleroma.uri), await account_id(container, misskey.uri)
    assert len(await rows(container, Favourite, account_id=lain, status_id=status_id)) == 1
    assert len(await rows(container, Favourite, account_id=ai, status_id=status_id)) == 1
    assert (await rows(container, StatusStats, status_id=status_id))[0].favourites_count == 2
    shown = await client.get(f"/api/v1/statuses/{status_id}", headers=alice.headers)
    assert shown.json()["favourites_count"] == 2

    await deliver(client, container, activity(pleroma, "Undo", react, number=3), pleroma)
    await deliver(client, container, activity(misskey, "Undo", misskey_like, number=4), misskey)
    assert await rows(container, Favourite, status_id=status_id) == []
    assert (await rows(container, StatusStats, status_id=status_id))[0].favourites_count == 0
