"""The signed-in user's own account: verify_credentials, update_credentials, preferences."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User

ACCOUNT_KEYS = [
    "id",
    "username",
    "acct",
    "display_name",
    "locked",
    "bot",
    "discoverable",
    "indexable",
    "group",
    "created_at",
    "note",
    "url",
    "uri",
    "avatar",
    "avatar_static",
    "avatar_description",
    "header",
    "header_static",
    "header_description",
    "followers_count",
    "following_count",
    "statuses_count",
    "last_status_at",
    "hide_collections",
    "noindex",
    "emojis",
    "roles",
    "fields",
]


def png(width: int = 64, height: int = 64, color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


async def load(container: Container, account_id: int) -> tuple[Account, User]:
    from sqlalchemy import select

    async with container.db.uow(write=False) as uow:
        row = (
            await uow.session.execute(
                select(Account, User)
                .join(User, User.account_id == Account.id)
                .where(Account.id == account_id)
            )
        ).one()
    return row[0], row[1]


def media_files(container: Container) -> list[Path]:
    root = container.settings.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- verify_credentials ---------------------------------------------------------------------


async def test_verify_credentials_renders_a_credential_account(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [*ACCOUNT_KEYS, "source", "role"]
    assert body["id"] == str(alice.account_id)
    assert body["username"] == body["acct"] == "alice"
    assert body["url"] == "https://kinfolk.test/@alice"
    assert body["uri"] == "https://kinfolk.test/users/alice"
    assert body["avatar"] == body["avatar_static"] == "https://kinfolk.test/avatars/original/missing.png"
    assert body["header"] == body["header_static"] == "https://kinfolk.test/headers/original/missing.png"
    assert body["created_at"].endswith("T00:00:00.000Z")
    assert body["note"] == ""
    assert body["last_status_at"] is None
    assert (body["followers_count"], body["following_count"], body["statuses_count"]) == (0, 0, 0)
    assert body["emojis"] == [] and body["roles"] == [] and body["fields"] == []
    assert body["source"] == {
        "privacy": "public",
        "sensitive": False,
        "language": None,
        "note": "",
        "fields": [],
        "follow_requests_count": 0,
        "hide_collections": False,
        "discoverable": True,
        "indexable": False,
        "attribution_domains": [],
        "quote_policy": "public",
    }
    assert body["role"] == {
        "id": "-99",
        "name": "",
        "color": "",
        "permissions": "65536",
        "highlighted": False,
        "collection_limit": 10,
    }


async def test_staff_roles_show_as_badges(client: httpx.AsyncClient, make_user: Any) -> None:
    admin = await make_user("boss", role="admin")
    body = (await client.get("/api/v1/accounts/verify_credentials", headers=admin.headers)).json()
    assert body["roles"] == [{"id": "2", "name": "Admin", "color": ""}]
    assert body["role"]["name"] == "Admin" and body["role"]["highlighted"] is True


async def test_verify_credentials_auth(client: httpx.AsyncClient, make_user: Any) -> None:
    assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=bad)).status_code == 401
    writer = await make_user("writer", scopes="write follow")
    response = await client.get("/api/v1/accounts/verify_credentials", headers=writer.headers)
    assert response.status_code == 403
    assert response.json() == {"error": "This action is outside the authorized scopes"}
    for scopes in ("profile", "read:accounts", "read"):
        user = await make_user(f"u{scopes.replace(':', '_')}", scopes=scopes)
        ok = await client.get("/api/v1/accounts/verify_credentials", headers=user.headers)
        assert ok.status_code == 200, scopes


# --- update_credentials ---------------------------------------------------------------------


async def test_update_text_flags_and_source(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    data = {
        "display_name": "  Alice Liddell ",
        "note": "Down the rabbit hole.\nhttps://example.com/wonderland\n\nSecond <b>paragraph</b> #Tea",
        "locked": "true",
        "bot": "1",
        "discoverable": "false",
        "indexable": "on",
        "hide_collections": "true",
        "fields_attributes[0][name]": "Website",
        "fields_attributes[0][value]": "https://alice.example",
        "fields_attributes[1][name]": "Pronouns",
        "fields_attributes[1][value]": "she/her",
        "source[privacy]": "unlisted",
        "source[sensitive]": "true",
        "source[language]": "fr",
        "source[quote_policy]": "followers",
        "attribution_domains[]": ["Alice.example", "news.example"],
    }
    response = await client.patch("/api/v1/accounts/update_credentials", data=data, headers=alice.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Alice Liddell"
    assert body["note"] == (
        "<p>Down the rabbit hole.<br />"
        '<a href="https://example.com/wonderland" target="_blank" rel="nofollow noopener noreferrer" '
        'translate="no"><span class="invisible">https://</span><span class="">example.com/wonderland</span>'
        '<span class="invisible"></span></a></p>'
        "<p>Second &lt;b&gt;paragraph&lt;/b&gt; "
        '<a href="https://kinfolk.test/tags/tea" class="mention hashtag" rel="tag">#<span>Tea</span></a></p>'
    )
    assert (
        body["locked"],
        body["bot"],
        body["discoverable"],
        body["indexable"],
        body["hide_collections"],
    ) == (
        True,
        True,
        False,
        True,
        True,
    )
    assert [f["name"] for f in body["fields"]] == ["Website", "Pronouns"]
    assert 'rel="nofollow noopener noreferrer me"' in body["fields"][0]["value"]
    assert body["fields"][1] == {"name": "Pronouns", "value": "she/her", "verified_at": None}
    source = body["source"]
    assert source["note"] == data["note"]
    assert source["fields"] == [
        {"name": "Website", "value": "https://alice.example", "verified_at": None},
        {"name": "Pronouns", "value": "she/her", "verified_at": None},
    ]
    assert (source["privacy"], source["sensitive"], source["language"], source["quote_policy"]) == (
        "unlisted",
        True,
        "fr",
        "followers",
    )
    assert source["attribution_domains"] == ["alice.example", "news.example"]
    # The stored state matches what was returned.
    again = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert again == body
    prefs = (await client.get("/api/v1/preferences", headers=alice.headers)).json()
    assert prefs["posting:default:visibility"] == "unlisted"
    assert prefs["posting:default:sensitive"] is True
    assert prefs["posting:default:language"] == "fr"


async def test_fields_as_a_json_array_replace_all_fields(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    first = {"fields_attributes": {"5": {"name": "a", "value": "1"}, "2": {"name": "b", "value": "2"}}}
    response = await client.patch("/api/v1/accounts/update_credentials", json=first, headers=alice.headers)
    assert [f["name"] for f in response.json()["fields"]] == ["a", "b"]
    second = {"fields_attributes": [{"name": "c", "value": "3"}, {"name": "", "value": ""}]}
    response = await client.patch("/api/v1/accounts/update_credentials", json=second, headers=alice.headers)
    assert response.status_code == 200
    assert [f["name"] for f in response.json()["fields"]] == ["c"]


async def test_mentions_in_the_bio_link_known_accounts(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        json={"note": "Friends with @bob and @nobody, also @bob@kinfolk.test"},
        headers=alice.headers,
    )
    note = response.json()["note"]
    card = (
        '<span class="h-card" translate="no"><a href="https://kinfolk.test/@bob" class="u-url mention">'
        "@<span>bob</span></a></span>"
    )
    assert note == f"<p>Friends with {card} and @nobody, also {card}</p>"
    assert bob.account_id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"display_name": "x" * 31}, "display_name"),
        ({"note": "x" * 501}, "note"),
        ({"fields_attributes": [{"name": f"n{i}", "value": "v"} for i in range(5)]}, "fields"),
        ({"fields_attributes": [{"name": "n" * 256, "value": "v"}]}, "fields"),
        ({"fields_attributes": [{"name": "n", "value": "v" * 256}]}, "fields"),
        ({"source": {"privacy": "direct"}}, "source.privacy"),
        ({"source": {"quote_policy": "everyone"}}, "source.quote_policy"),
        ({"attribution_domains": ["not a domain!"]}, "attribution_domains"),
        ({"attribution_domains": [f"d{i}.example" for i in range(11)]}, "attribution_domains"),
    ],
)
async def test_invalid_values_are_422_and_change_nothing(
    client: httpx.AsyncClient, container: Container, make_user: Any, payload: dict[str, Any], field: str
) -> None:
    alice = await make_user("alice")
    before = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        json={"display_name": "Changed", "locked": True, **payload},
        headers=alice.headers,
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"].startswith("Validation failed: ")
    assert field in body["details"]
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert after == before


async def test_avatar_and_header_upload_and_serve(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    files = {
        "avatar": ("../../../etc/cron.d/evil.png", png(800, 600), "image/png"),
        "header": ("header.jpg", png(300, 300, (200, 10, 10)), "image/jpeg"),
    }
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "With pictures"},
        files=files,
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "With pictures"
    assert body["avatar"].startswith("https://kinfolk.test/media/accounts/avatars/")
    assert body["avatar"] == body["avatar_static"]
    assert body["header"].startswith("https://kinfolk.test/media/accounts/headers/")
    assert "evil" not in body["avatar"] and "cron" not in body["avatar"]
    for url, size in ((body["avatar"], (400, 400)), (body["header"], (1500, 500))):
        served = await client.get(url.removeprefix("https://kinfolk.test"))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == size
    stored = media_files(container)
    assert len(stored) == 2
    assert all(p.resolve().is_relative_to(container.settings.media_dir.resolve()) for p in stored)


async def test_replacing_and_removing_images_deletes_old_files(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    url = "/api/v1/accounts/update_credentials"
    first = await client.patch(url, files={"avatar": ("a.png", png(), "image/png")}, headers=alice.headers)
    old = media_files(container)
    assert len(old) == 1
    second = await client.patch(
        url, files={"avatar": ("b.png", png(color=(0, 0, 0)), "image/png")}, headers=alice.headers
    )
    assert second.json()["avatar"] != first.json()["avatar"]
    now = media_files(container)
    assert len(now) == 1 and now != old
    removed = await client.patch(url, data={"avatar": ""}, headers=alice.headers)
    assert removed.status_code == 200
    assert removed.json()["avatar"] == "https://kinfolk.test/avatars/original/missing.png"
    assert media_files(container) == []
    account, _ = await load(container, alice.account_id)
    assert account.avatar_key is None


@pytest.mark.parametrize(
    "upload",
    [
        ("bomb.png", bomb_png(), "image/png"),
        ("page.png", b"<html><script>alert(document.cookie)</script></html>", "image/png"),
        ("image.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        ("empty.png", b"", "image/png"),
        ("half.png", png(200, 200)[:150], "image/png"),
    ],
    ids=["bomb", "html", "svg", "empty", "truncated"],
)
async def test_bad_images_are_422_and_change_nothing(
    client: httpx.AsyncClient, container: Container, make_user: Any, upload: tuple[str, bytes, str]
) -> None:
    alice = await make_user("alice")
    before = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Should not stick", "note": "nor this"},
        files={"avatar": upload},
        headers=alice.headers,
    )
    assert response.status_code == 422, response.text
    assert "avatar" in response.json()["details"]
    after = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert after == before
    assert media_files(container) == []


async def test_a_good_image_with_a_bad_field_stores_nothing(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "x" * 40},
        files={"avatar": ("a.png", png(), "image/png"), "header": ("h.png", png(), "image/png")},
        headers=alice.headers,
    )
    assert response.status_code == 422
    account, _ = await load(container, alice.account_id)
    assert account.avatar_key is None and account.header_key is None and account.display_name == ""
    assert media_files(container) == []


async def test_an_image_too_large_in_bytes_is_refused(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    big = png() + b"\0" * (8 * 1024 * 1024)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        files={"header": ("big.png", big, "image/png")},
        headers=alice.headers,
    )
    assert response.status_code == 422
    assert response.json()["details"]["header"][0]["error"] == "ERR_TOO_LARGE"


async def test_update_credentials_auth(client: httpx.AsyncClient, make_user: Any) -> None:
    url = "/api/v1/accounts/update_credentials"
    assert (await client.patch(url, json={"display_name": "x"})).status_code == 401
    reader = await make_user("reader", scopes="read")
    assert (await client.patch(url, json={"display_name": "x"}, headers=reader.headers)).status_code == 403
    narrow = await make_user("narrow", scopes="write:accounts")
    assert (await client.patch(url, json={"display_name": "x"}, headers=narrow.headers)).status_code == 200


# --- preferences ----------------------------------------------------------------------------


async def test_preferences_defaults_and_auth(client: httpx.AsyncClient, make_user: Any) -> None:
    assert (await client.get("/api/v1/preferences")).status_code == 401
    writer = await make_user("writer", scopes="write")
    assert (await client.get("/api/v1/preferences", headers=writer.headers)).status_code == 403
    alice = await make_user("alice", scopes="read:accounts")
    response = await client.get("/api/v1/preferences", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "posting:default:quote_policy": "public",
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


async def test_posting_defaults_reach_new_statuses(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        json={"source": {"privacy": "private", "language": "de"}},
        headers=alice.headers,
    )
    assert response.status_code == 200
    status = await client.post("/api/v1/statuses", json={"status": "hallo"}, headers=alice.headers)
    assert status.status_code == 200, status.text
    assert status.json()["visibility"] == "private"
    assert status.json()["language"] == "de"
