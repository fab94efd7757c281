"""Custom emojis of remote posts and actors: kept per (shortcode, domain) from their `Emoji`
tags, shown in the status and account entities (and in an edit's history) for the shortcodes
their text uses, never with a bad shortcode or picture URL, at most 100 per object; the
captured documents with emojis (../shared/fixtures/activitypub) keep theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.domain.emojis.service import shortcodes
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.federation import dereference, notes
from kinfolk.federation.actors import actor_domain
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.object import parse_note
from tests.federation import remote_fixtures
from tests.federation.remote_docs import FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "activitypub"


def emoji(name: str, url: str = "https://cdn.example/e.png", **extra: Any) -> dict[str, Any]:
    return {"type": "Emoji", "name": name, "icon": {"type": "Image", "url": url}, **extra}


async def _emojis(container: Container, domain: str) -> dict[str, CustomEmoji]:
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(select(CustomEmoji).where(CustomEmoji.domain == domain))
        return {e.shortcode: e for e in rows.scalars()}


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_remote_post_and_its_author_show_their_emojis(
    container: Container, remote: FakeRemote, client: httpx.AsyncClient
) -> None:
    author = remote.actor(
        "emo",
        name="Emo :blobcat: :notkept:",
        tag=[emoji(":blobcat:", "https://cdn.example/blobcat.png", updated="2024-01-01T00:00:00Z")],
    )
    doc = remote.note(
        author,
        1,
        "hello :blobfox: and :blobcat::blobcat: :blobcat:",
        summary="cw :blobfox:",
        tag=[
            emoji(":blobfox:", "https://cdn.example/blobfox.gif", id="https://remote.test/emojis/2"),
            emoji(":blobcat:", "https://cdn.example/blobcat.png"),
        ],
    )
    status = await dereference.fetch_note(container, doc["id"])
    assert status is not None
    domain = actor_domain(author)
    kept = await _emojis(container, domain)
    assert set(kept) == {"blobcat", "blobfox"}
    assert kept["blobfox"].uri == "https://remote.test/emojis/2" and not kept["blobfox"].visible_in_picker

    body = await _get(client, f"/api/v1/statuses/{status.id}")
    assert body["emojis"] == [
        {
            "shortcode": "blobfox",
            "url": "https://cdn.example/blobfox.gif",
            "static_url": "https://cdn.example/blobfox.gif",
            "visible_in_picker": False,
            "category": None,
        },
        {
            "shortcode": "blobcat",
            "url": "https://cdn.example/blobcat.png",
            "static_url": "https://cdn.example/blobcat.png",
            "visible_in_picker": False,
            "category": None,
        },
    ]
    # The author's name uses one emoji its server gave and one it did not.
    assert [e["shortcode"] for e in body["account"]["emojis"]] == ["blobcat"]
    account = await _get(client, f"/api/v1/accounts/{body['account']['id']}")
    assert account["emojis"] == body["account"]["emojis"]
    assert account["display_name"] == "Emo :blobcat: :notkept:"

    # An edit using another emoji: the status shows the new one, each revision its own.
    edit = {key: value for key, value in doc.items() if key != "summary"}
    edit.update(content="<p>now :party:</p>", updated="2026-01-02T00:00:00Z", tag=[emoji(":party:")])
    async with container.db.uow() as uow:
        author_row = (await uow.session.execute(select(Account).where(Account.uri == author))).scalar_one()
        assert await notes.apply_update(container, uow, author_row, parse_note(edit)) is not None
    body = await _get(client, f"/api/v1/statuses/{status.id}")
    assert [e["shortcode"] for e in body["emojis"]] == ["party"]
    history = await _get(client, f"/api/v1/statuses/{status.id}/history")
    assert [[e["shortcode"] for e in revision["emojis"]] for revision in history] == [
        ["blobfox", "blobcat"],
        ["party"],
    ]


async def test_bad_shortcodes_and_urls_are_dropped_and_the_count_is_capped(
    container: Container, remote: FakeRemote, client: httpx.AsyncClient
) -> None:
    author = remote.actor("bad")
    doc = remote.note(
        author,
        1,
        ":x: :bad-code: :js: :data: :file: :good:",
        tag=[
            emoji(":x:"),  # one character: not a Mastodon shortcode
            emoji(":bad-code:"),
            emoji(':a" onmouseover="alert(1):'),
            emoji(":js:", "javascript:alert(1)"),
            emoji(":data:", "data:image/png;base64,iVBORw0KGgo="),
            emoji(":file:", "file:///etc/passwd"),
            emoji(":good:"),
        ],
    )
    status = await dereference.fetch_note(container, doc["id"])
    assert status is not None
    domain = actor_domain(author)
    assert set(await _emojis(container, domain)) == {"good"}
    body = await _get(client, f"/api/v1/statuses/{status.id}")
    assert [e["shortcode"] for e in body["emojis"]] == ["good"]

    many = remote.note(author, 2, "many", tag=[emoji(f":e{n:03}:") for n in range(250)])
    assert await dereference.fetch_note(container, many["id"]) is not None
    kept = await _emojis(container, domain)
    assert len(kept) == 1 + 100 and {f"e{n:03}" for n in range(100)} <= set(kept)


async def test_a_newer_picture_replaces_the_old_and_a_rejected_server_keeps_none(
    container: Container, remote: FakeRemote
) -> None:
    author = remote.actor("pics")
    first = remote.note(
        author, 1, ":pic:", tag=[emoji(":pic:", "https://cdn.example/1.png", updated="2024-01-01T00:00:00Z")]
    )
    assert await dereference.fetch_note(container, first["id"]) is not None
    older = remote.note(
        author, 2, ":pic:", tag=[emoji(":pic:", "https://cdn.example/1.png", updated="2023-01-01T00:00:00Z")]
    )
    assert await dereference.fetch_note(container, older["id"]) is not None
    domain = actor_domain(author)
    assert (await _emojis(container, domain))["pic"].image_remote_url == "https://cdn.example/1.png"
    moved = remote.note(author, 3, ":pic:", tag=[emoji(":pic:", "https://cdn.example/2.png")])
    assert await dereference.fetch_note(container, moved["id"]) is not None
    assert (await _emojis(container, domain))["pic"].image_remote_url == "https://cdn.example/2.png"

    other = remote.actor("quiet", host="other.test")
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("other.test", severity="noop", reject_media=True))
    note = remote.note(other, 1, ":pic:", tag=[emoji(":pic:")])
    assert await dereference.fetch_note(container, note["id"]) is not None
    assert await _emojis(container, actor_domain(other)) == {}


def _fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((FIXTURES / name).read_bytes())
    return doc


def _tagged(doc: dict[str, Any]) -> set[str]:
    tags = doc.get("tag")
    tags = tags if isinstance(tags, list) else [tags]
    return {t["name"].strip(":") for t in tags if isinstance(t, dict) and t.get("type") == "Emoji"}


@pytest.mark.parametrize(
    "name",
    [
        "mastodon/note-with-custom-emoji.json",
        "pleroma/note-emoji-in-summary.json",
        "kroeg/create-note-emoji-not-array.json",
    ],
)
async def test_fixture_posts_keep_their_emojis(
    container: Container, remote: FakeRemote, client: httpx.AsyncClient, name: str
) -> None:
    doc = _fixture(name)
    if doc.get("type") == "Create":
        doc = doc["object"]
    author = remote.actor("fixture")
    doc.update(id=f"{author}/statuses/fixture", attributedTo=author)
    doc.pop("inReplyTo", None)
    remote.docs[doc["id"]] = doc
    status = await dereference.fetch_note(container, doc["id"])
    assert status is not None
    wanted = _tagged(doc)
    assert wanted and set(await _emojis(container, actor_domain(author))) == wanted
    body = await _get(client, f"/api/v1/statuses/{status.id}")
    assert {e["shortcode"] for e in body["emojis"]} == wanted  # each is used in its text


@pytest.mark.parametrize(
    "name",
    [
        "mastodon/person-emoji-in-display-name.json",
        "misskey/person.json",
        "sharkey/person.json",
        "pleroma/person.json",
        "akkoma/person-with-eight-fields.json",
    ],
)
async def test_fixture_actors_keep_their_emojis(
    container: Container, remote: FakeRemote, client: httpx.AsyncClient, name: str
) -> None:
    doc = _fixture(name)
    uri = f"{remote.origin()}/users/fixture"
    doc.update(id=uri, inbox=f"{uri}/inbox")
    doc.pop("endpoints", None)
    account = await dereference.store_actor(container, parse_actor(doc))
    assert account is not None
    wanted = _tagged(doc)
    assert wanted and set(await _emojis(container, actor_domain(uri))) == wanted
    body = await _get(client, f"/api/v1/accounts/{account.id}")
    shown = {e["shortcode"] for e in body["emojis"]}
    # What the name, bio and fields use, by Mastodon's rule: `:a::b:` (Misskey's name) is no
    # emoji there either.
    assert shown <= wanted
    if name.startswith("mastodon/"):
        assert shown == {"nonbinary", "netscape_1"}


def test_shortcodes_in_text_follow_mastodons_rule() -> None:
    assert shortcodes("<p>hi :blobcat:, :blob_fox: :x: :blobcat:</p>") == ["blobcat", "blob_fox"]
    assert shortcodes(":a_b::c_d: word:blob: :blob:word 10:30:00 :ok:") == ["ok"]
    assert len(shortcodes(" ".join(f":e{n}:" for n in range(500)))) == 100
