"""Custom emojis' pictures: remote ones copied by a job from a real HTTP server on 127.0.0.1
(shown from their origin until then, and when copying fails), and our own tagged in the Notes
and actors we render, only when they exist."""

from __future__ import annotations

from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select
from tests.domain.media import samples
from tests.domain.media.test_media_remote import RemoteServer, allow_loopback, origin  # noqa: F401
from tests.federation.helpers import BASE, ap_json, post

from kinfolk.api.entities.custom_emoji import emoji_json
from kinfolk.container import Container
from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.domain.emojis.service import RemoteEmoji, store_remote_emojis
from kinfolk.infra.images import EMOJI_MAX_FRAMES, process_emoji


async def _rows(container: Container) -> dict[str, CustomEmoji]:
    async with container.db.uow(write=False) as uow:
        return {e.shortcode: e for e in (await uow.session.execute(select(CustomEmoji))).scalars()}


async def test_remote_pictures_are_copied_and_shown_from_here(
    container: Container,
    drain_jobs: Any,
    origin: RemoteServer,  # noqa: F811
    allow_loopback: None,  # noqa: F811
) -> None:
    origin.files["/big.png"] = (samples.png(600, 300), "image/png")
    origin.files["/anim.gif"] = (samples.animated_gif(size=(40, 30)), "image/gif")
    origin.files["/evil.png"] = (b"<html>no</html>", "image/png")
    async with container.db.uow() as uow:
        await store_remote_emojis(
            uow,
            "remote.example",
            [
                RemoteEmoji("big", f"{origin.url}/big.png"),
                RemoteEmoji("anim", f"{origin.url}/anim.gif"),
                RemoteEmoji("evil", f"{origin.url}/evil.png"),
            ],
        )
    before = await _rows(container)
    assert emoji_json(container.storage, before["big"])["url"] == f"{origin.url}/big.png"
    await drain_jobs()
    rows = await _rows(container)
    assert sorted(origin.hits) == ["/anim.gif", "/big.png", "/evil.png"]
    big = emoji_json(container.storage, rows["big"])
    assert big["url"].startswith("https://kinfolk.test/media/custom_emojis/")
    assert big["static_url"] == big["url"]
    with Image.open(container.settings.media_dir / str(rows["big"].image_key)) as picture:
        assert picture.size == (128, 64) and picture.format == "PNG"
    # An animation stays one (as WebP), with its first frame as the still version.
    anim = emoji_json(container.storage, rows["anim"])
    assert anim["url"].startswith("https://kinfolk.test/media/custom_emojis/") and anim["url"].endswith(
        ".webp"
    )
    assert anim["static_url"] != anim["url"]
    with Image.open(container.settings.media_dir / str(rows["anim"].image_key)) as picture:
        assert picture.format == "WEBP" and picture.n_frames == 5 and picture.size == (40, 30)
    with Image.open(container.settings.media_dir / str(rows["anim"].image_static_key)) as picture:
        assert picture.size == (40, 30) and not getattr(picture, "is_animated", False)
    # Not a picture: shown from its origin, as before.
    assert rows["evil"].image_key is None
    assert emoji_json(container.storage, rows["evil"])["url"] == f"{origin.url}/evil.png"

    # The same emoji again copies nothing; a new picture replaces the copy.
    origin.files["/big2.png"] = (samples.png(64, 64), "image/png")
    async with container.db.uow() as uow:
        await store_remote_emojis(uow, "remote.example", [RemoteEmoji("anim", f"{origin.url}/anim.gif")])
        await store_remote_emojis(uow, "remote.example", [RemoteEmoji("big", f"{origin.url}/big2.png")])
    await drain_jobs()
    after = await _rows(container)
    assert origin.hits.count("/anim.gif") == 1 and origin.hits[-1] == "/big2.png"
    assert after["anim"].image_key == rows["anim"].image_key
    assert after["big"].image_key not in (None, rows["big"].image_key)
    assert not (container.settings.media_dir / str(rows["big"].image_key)).exists()


async def test_our_own_emojis_are_tagged_in_notes_and_actors(
    container: Container, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    plain = await post(client, alice, status="no :kinfolk: yet", visibility="public")
    assert plain["emojis"] == []
    assert (await ap_json(client, f"/users/alice/statuses/{plain['id']}"))["tag"] == []

    # There is no emoji administration yet: the row an administrator's upload would make.
    await container.storage.put("custom_emojis/local/kinfolk.png", samples.png(32, 32), "image/png")
    async with container.db.uow() as uow:
        local = CustomEmoji(
            shortcode="kinfolk",
            domain=None,
            image_key="custom_emojis/local/kinfolk.png",
            image_static_key="custom_emojis/local/kinfolk.png",
        )
        uow.session.add(local)
    response = await client.patch(
        "/api/v1/accounts/update_credentials", data={"display_name": "Alice :kinfolk:"}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    url = "https://kinfolk.test/media/custom_emojis/local/kinfolk.png"
    shown = {
        "shortcode": "kinfolk",
        "url": url,
        "static_url": url,
        "visible_in_picker": True,
        "category": None,
    }
    assert response.json()["emojis"] == [shown]
    status = await post(client, alice, status="now :kinfolk: and :missing:", visibility="public")
    assert status["emojis"] == [shown] and status["account"]["emojis"] == [shown]
    tag = {
        "id": f"{BASE}/emojis/{local.id}",
        "type": "Emoji",
        "name": ":kinfolk:",
        "updated": tag_time(local),
        "icon": {"type": "Image", "mediaType": "image/png", "url": url},
    }
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    assert note["tag"] == [tag]
    actor = await ap_json(client, "/users/alice")
    assert actor["tag"] == [tag]


def tag_time(emoji: CustomEmoji) -> str:
    return emoji.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_animations_beyond_the_bounds_are_kept_still() -> None:
    moving = process_emoji(samples.animated_gif(frames=EMOJI_MAX_FRAMES, size=(8, 8)))
    assert moving.image is not moving.still and moving.image.content_type == "image/webp"
    for source in (
        samples.animated_gif(frames=EMOJI_MAX_FRAMES + 1, size=(8, 8)),
        samples.animated_gif(frames=2, size=(600, 600)),  # frames too large to decode each
    ):
        processed = process_emoji(source)
        assert processed.image is processed.still and processed.still.content_type == "image/png"
        assert max(processed.still.width, processed.still.height) <= 128
