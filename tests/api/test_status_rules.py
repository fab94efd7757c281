"""Mastodon's posting rules beyond the text: scheduled posts' limits, whose media may be attached
and when, languages as ISO 639 codes, and the validations the API reference states. Each refusal
is a 422 (or Mastodon's 404) and stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import User
from kinfolk.domain.filters.models import Filter
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.statuses.models import ScheduledStatus, Status
from kinfolk.domain.timelines.models import List


async def _post(client: httpx.AsyncClient, user: Any, **data: Any) -> httpx.Response:
    return await client.post("/api/v1/statuses", json=data, headers=user.headers)


async def _count(container: Container, model: Any) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def _media(container: Container, account_id: int, kind: str = "image") -> int:
    async with container.db.uow() as uow:
        item = MediaAttachment(account_id=account_id, type=kind, file_key="m/a.png", content_type="image/png")
        uow.session.add(item)
        await uow.session.flush()
        return item.id


async def _fill_schedule(container: Container, account_id: int, days: list[datetime]) -> None:
    async with container.db.uow() as uow:
        for when in days:
            uow.session.add(ScheduledStatus(account_id=account_id, scheduled_at=when, params={"text": "x"}))


def _day(offset: int, hour: int = 12) -> datetime:
    base = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return base + timedelta(days=offset)


async def test_at_most_25_scheduled_posts_a_day(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _fill_schedule(container, alice.account_id, [_day(3, hour=1)] * 25)
    refused = await _post(client, alice, status="one more", scheduled_at=_day(3, hour=23).isoformat())
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "Validation failed: You have exceeded the limit of 25 scheduled posts for today"
    }
    assert await _count(container, ScheduledStatus) == 25
    # Another day has room; moving a post onto the full day is refused too, and leaves it where it was.
    other = await _post(client, alice, status="next day", scheduled_at=_day(4).isoformat())
    assert other.status_code == 200, other.text
    moved = await client.put(
        f"/api/v1/scheduled_statuses/{other.json()['id']}",
        json={"scheduled_at": _day(3, hour=22).isoformat()},
        headers=alice.headers,
    )
    assert moved.status_code == 422 and "25 scheduled posts for today" in moved.json()["error"]
    shown = await client.get(f"/api/v1/scheduled_statuses/{other.json()['id']}", headers=alice.headers)
    assert shown.json()["scheduled_at"].startswith(_day(4).strftime("%Y-%m-%d"))
    # Rescheduling within its own day does not count the post against itself.
    again = await client.put(
        f"/api/v1/scheduled_statuses/{other.json()['id']}",
        json={"scheduled_at": _day(4, hour=13).isoformat()},
        headers=alice.headers,
    )
    assert again.status_code == 200, again.text


async def test_at_most_300_scheduled_posts_in_all(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await _fill_schedule(container, alice.account_id, [_day(2 + i // 20) for i in range(300)])
    refused = await _post(client, alice, status="too many", scheduled_at=_day(40).isoformat())
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "Validation failed: You have exceeded the limit of 300 scheduled posts"
    }
    assert await _count(container, ScheduledStatus) == 300
    # The limit is the account's: others still schedule.
    bob = await make_user("bob")
    assert (await _post(client, bob, status="mine", scheduled_at=_day(40).isoformat())).status_code == 200


async def test_media_attach_only_by_owner_and_only_once(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    bobs = await _media(container, bob.account_id)
    theirs = await _post(client, alice, status="stolen", media_ids=[str(bobs)])
    assert theirs.status_code == 422
    assert theirs.json() == {"error": f"Media {bobs} not found or already attached to another post"}

    mine = await _media(container, alice.account_id)
    first = await _post(client, alice, status="first", media_ids=[str(mine)])
    assert first.status_code == 200, first.text
    second = await _post(client, alice, status="second", media_ids=[str(mine)])
    assert second.status_code == 422 and str(mine) in second.json()["error"]
    assert await _count(container, Status) == 1

    # Media a scheduled post holds can't go on a status, nor on another scheduled post.
    held = await _media(container, alice.account_id)
    later = await _post(
        client, alice, status="later", media_ids=[str(held)], scheduled_at=_day(2).isoformat()
    )
    assert later.status_code == 200, later.text
    now = await _post(client, alice, status="now", media_ids=[str(held)])
    assert now.status_code == 422 and "already attached" in now.json()["error"]
    twice = await _post(
        client, alice, status="twice", media_ids=[str(held)], scheduled_at=_day(3).isoformat()
    )
    assert twice.status_code == 422
    assert await _count(container, Status) == 1 and await _count(container, ScheduledStatus) == 1
    # Once the scheduled post is cancelled, the media is free again.
    await client.delete(f"/api/v1/scheduled_statuses/{later.json()['id']}", headers=alice.headers)
    assert (await _post(client, alice, status="now", media_ids=[str(held)])).status_code == 200


async def test_a_video_goes_alone_and_four_media_at_most(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    image = await _media(container, alice.account_id)
    video = await _media(container, alice.account_id, "video")
    mixed = await _post(client, alice, status="mixed", media_ids=[str(image), str(video)])
    assert mixed.status_code == 422
    assert mixed.json() == {"error": "Cannot attach a video to a post that already contains images"}
    five = [str(await _media(container, alice.account_id)) for _ in range(5)]
    assert (await _post(client, alice, status="five", media_ids=five)).status_code == 422
    assert await _count(container, Status) == 0
    assert (await _post(client, alice, status="four", media_ids=five[:4])).status_code == 200


async def test_unknown_languages_are_dropped_not_refused(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    assert (await _post(client, alice, status="x", language="zz")).json()["language"] == "en"
    assert (await _post(client, alice, status="x", language="pt-BR")).json()["language"] == "pt"
    assert (await _post(client, alice, status="x", language=["de"])).json()["language"] == "en"
    # Unknown: the user's default language applies instead, as Mastodon's cascade does.
    async with container.db.uow() as uow:
        user = await uow.session.get(User, alice.user_id)
        assert user is not None
        user.settings = {**(user.settings or {}), "default_language": "fr"}
    posted = (await _post(client, alice, status="x", language="not-a-language")).json()
    assert posted["language"] == "fr"
    # An edit with an unknown language keeps the status's own.
    edited = await client.put(
        f"/api/v1/statuses/{posted['id']}", json={"status": "y", "language": "qq"}, headers=alice.headers
    )
    assert edited.status_code == 200 and edited.json()["language"] == "fr"
    scheduled = await _post(client, alice, status="x", language="xx", scheduled_at=_day(2).isoformat())
    assert scheduled.status_code == 200 and scheduled.json()["params"]["language"] is None
    # The profile's posting language: an unknown one is none; a known one is kept.
    for sent, kept in (("zz", None), ("de", "de")):
        profile = await client.patch(
            "/api/v1/accounts/update_credentials", json={"source": {"language": sent}}, headers=alice.headers
        )
        assert profile.status_code == 200 and profile.json()["source"]["language"] == kept
    # Following for some languages: the unknown ones are dropped.
    follow = await client.post(
        f"/api/v1/accounts/{bob.account_id}/follow",
        json={"languages": ["zz", "en", "EN"]},
        headers=alice.headers,
    )
    assert follow.status_code == 200 and follow.json()["languages"] == ["en"]


async def test_the_api_references_validations(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    """Poll options 2..4 of 50 characters, expiry 300..2629746 s, the content warning counted in
    the length, visibility values, replies only to what one sees: 422 (404) and nothing stored."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    hidden = await _post(client, bob, status="private", visibility="direct")
    poll: dict[str, Any] = {"options": ["a", "b"], "expires_in": 3600}
    cases: list[tuple[dict[str, Any], int]] = [
        ({"status": "p", "poll": {**poll, "options": ["a"]}}, 422),
        ({"status": "p", "poll": {**poll, "options": ["a", "b", "c", "d", "e"]}}, 422),
        ({"status": "p", "poll": {**poll, "options": ["a", "b" * 51]}}, 422),
        ({"status": "p", "poll": {**poll, "options": ["a", "a"]}}, 422),
        ({"status": "p", "poll": {**poll, "expires_in": 299}}, 422),
        ({"status": "p", "poll": {**poll, "expires_in": 2629747}}, 422),
        ({"status": "p", "poll": "x"}, 422),
        ({"status": "x" * 400, "spoiler_text": "y" * 101}, 422),
        ({"status": "x", "visibility": "everyone"}, 422),
        ({"status": "x", "visibility": ["public"]}, 422),
        ({"status": {"a": 1}}, 422),
        ({"status": "x", "media_ids": "abc"}, 422),
        ({"status": "x", "in_reply_to_id": hidden.json()["id"]}, 404),
    ]
    for data, code in cases:
        response = await _post(client, alice, **data)
        assert response.status_code == code, (data, response.text)
        assert isinstance(response.json()["error"], str)
    assert await _count(container, Status) == 1 and await _count(container, Poll) == 0
    ok = await _post(client, alice, status="p", poll={**poll, "options": ["a", "b" * 50, "c", "d"]})
    assert ok.status_code == 200, ok.text

    for title in ("", "   ", "t" * 257):
        listed = await client.post("/api/v1/lists", json={"title": title}, headers=alice.headers)
        assert listed.status_code == 422, (title, listed.text)
        filtered = await client.post(
            "/api/v2/filters", json={"title": title, "context": ["home"]}, headers=alice.headers
        )
        assert filtered.status_code == 422, (title, filtered.text)
    assert await _count(container, List) == 0 and await _count(container, Filter) == 0
    for change in ({"display_name": "d" * 31}, {"note": "n" * 501}):
        response = await client.patch(
            "/api/v1/accounts/update_credentials", json=change, headers=alice.headers
        )
        assert response.status_code == 422, (change, response.text)
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert me["display_name"] == "" and me["note"] == ""


async def test_a_video_or_a_sound_goes_alone_but_a_gif_sits_beside_images(
    client, make_user, container
) -> None:  # type: ignore[no-untyped-def]
    """Mastodon's rule (audio_or_video?): more than one attachment with a video or audio among
    them is refused; a GIF (gifv) is not a video for it."""
    alice = await make_user("alice")
    image, video = (
        await _media(container, alice.account_id),
        await _media(container, alice.account_id, "video"),
    )
    refused = await _post(client, alice, status="both", media_ids=[str(image), str(video)])
    assert refused.status_code == 422
    assert refused.json() == {"error": "Cannot attach a video to a post that already contains images"}
    assert await _count(container, Status) == 0
    gif = await _media(container, alice.account_id, "gifv")
    assert (await _post(client, alice, status="gif", media_ids=[str(image), str(gif)])).status_code == 200
    assert (await _post(client, alice, status="alone", media_ids=[str(video)])).status_code == 200
