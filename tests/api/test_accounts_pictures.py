"""Avatar and header alt texts (Mastodon 4.4), and removing a picture with
DELETE /api/v1/profile/avatar|header."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from kinfolk.container import Container

UPDATE = "/api/v1/accounts/update_credentials"


def png(color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buffer, "PNG")
    return buffer.getvalue()


async def test_descriptions_are_stored_and_shown(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    fresh = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert fresh["avatar_description"] == "" and fresh["header_description"] == ""
    response = await client.patch(
        UPDATE,
        data={"avatar_description": "  John Lennon (me) doing a funny walk ", "header_description": "A hat"},
        files={"avatar": ("a.png", png(), "image/png"), "header": ("h.png", png((1, 2, 3)), "image/png")},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["avatar_description"] == "John Lennon (me) doing a funny walk"
    assert body["header_description"] == "A hat"
    keys = list(body)
    assert keys.index("avatar_description") == keys.index("avatar_static") + 1
    assert keys.index("header_description") == keys.index("header_static") + 1
    public = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    assert public["avatar_description"] == "John Lennon (me) doing a funny walk"
    # Leaving a field out keeps it; sending it empty clears it.
    kept = (await client.patch(UPDATE, data={"display_name": "Al"}, headers=alice.headers)).json()
    assert kept["header_description"] == "A hat"
    cleared = (await client.patch(UPDATE, json={"header_description": ""}, headers=alice.headers)).json()
    assert cleared["header_description"] == ""


async def test_descriptions_are_limited(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    ok = await client.patch(UPDATE, json={"avatar_description": "d" * 1500}, headers=alice.headers)
    assert ok.status_code == 200
    response = await client.patch(
        UPDATE, json={"avatar_description": "x" * 1501, "display_name": "Changed"}, headers=alice.headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Validation failed: Avatar description is too long (maximum is 1500 characters)"
    assert body["details"]["avatar_description"][0]["error"] == "ERR_TOO_LONG"
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert after["display_name"] != "Changed" and after["avatar_description"] == "d" * 1500
    nested = await client.patch(UPDATE, json={"header_description": {"a": 1}}, headers=alice.headers)
    assert nested.status_code == 422


async def test_deleting_pictures(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    alice = await make_user("alice")
    uploaded = await client.patch(
        UPDATE,
        data={"avatar_description": "me"},
        files={"avatar": ("a.png", png(), "image/png"), "header": ("h.png", png(), "image/png")},
        headers=alice.headers,
    )
    avatar_url = uploaded.json()["avatar"]
    stored = avatar_url.split("/media/", 1)[1]
    assert await container.storage.exists(stored)

    response = await client.delete("/api/v1/profile/avatar", headers=alice.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["avatar"] == "https://kinfolk.test/avatars/original/missing.png"
    assert body["header"].startswith("https://kinfolk.test/media/")
    assert body["avatar_description"] == "me"  # as on Mastodon, the alt text stays
    assert "source" in body and "role" in body
    assert not await container.storage.exists(stored)

    header = (await client.delete("/api/v1/profile/header", headers=alice.headers)).json()
    assert header["header"] == "https://kinfolk.test/headers/original/missing.png"
    # Deleting what is not there is fine.
    assert (await client.delete("/api/v1/profile/header", headers=alice.headers)).status_code == 200
    bad = await client.delete("/api/v1/profile/banner", headers=alice.headers)
    assert bad.status_code == 400
    assert bad.json() == {"error": 'Picture must be either "avatar" or "header"'}
    assert (await client.delete("/api/v1/profile/avatar")).status_code == 401
    reader = await make_user("reader", scopes="read")
    assert (await client.delete("/api/v1/profile/avatar", headers=reader.headers)).status_code == 403
