"""Link preview cards: pages served by a real HTTP server on 127.0.0.1 (as `links.test`), fetched
through the outbound guard by the worker's jobs, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from sqlalchemy import func, select
from tests.conftest import TEST_DOMAIN
from tests.domain.media import samples
from tests.loopback import Site, loopback_settings, serving

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.cards import fetch
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.timelines import streams
from kinfolk.jobs.models import Job

OG_PAGE = """<!doctype html><html lang="fr-CA"><head>
<meta charset="utf-8"><title>Fallback title</title>
<meta property="og:title" content="The &amp; headline">
<meta property="og:description" content="What it is about">
<meta property="og:site_name" content="Links Daily">
<meta property="og:image" content="/pic.png">
<meta property="og:image:alt" content="A picture">
<meta property="article:published_time" content="2026-11-30T10:00:00Z">
<link rel="canonical" href="/og">
</head><body><p>text</p></body></html>"""

OEMBED_PAGE = """<html><head><title>Video page</title>
<link rel="alternate" type="application/json+oembed" href="/oembed.json?url=x">
</head></html>"""

OEMBED = {
    "type": "video",
    "version": "1.0",
    "title": "A video",
    "author_name": "Someone",
    "author_url": "/@someone",
    "provider_name": "Tube",
    "provider_url": "/",
    "width": 640,
    "height": 360,
    "html": '<iframe src="https://links.test/embed/1" width="640" height="360" onload="x()"></iframe>'
    "<script>steal()</script>",
}


class Links(Site):
    """The linked site (`links.test`)."""


@pytest.fixture
async def links() -> AsyncIterator[Links]:
    state = Links()
    picture = samples.png(800, 400)

    async def handle(request: web.Request) -> web.StreamResponse:
        html = "text/html; charset=utf-8"
        if request.path == "/og":
            return web.Response(text=OG_PAGE, content_type="text/html", charset="utf-8")
        if request.path == "/pic.png":
            return web.Response(body=picture, content_type="image/png")
        if request.path == "/video":
            return web.Response(text=OEMBED_PAGE, headers={"Content-Type": html})
        if request.path == "/oembed.json":
            return web.json_response(OEMBED)
        if request.path == "/plain":
            return web.Response(text="<html><body>nothing here</body></html>", headers={"Content-Type": html})
        if request.path == "/huge":
            body = "<html><head><title>big</title></head>" + "x" * (2 * 1024 * 1024)
            return web.Response(text=body, headers={"Content-Type": html})
        if request.path == "/slow":
            await asyncio.sleep(5)
            return web.Response(text=OG_PAGE, headers={"Content-Type": html})
        if request.path == "/to-private":
            raise web.HTTPFound("http://10.1.2.3/admin")
        if request.path == "/image-only":
            return web.Response(body=picture, content_type="image/png")
        raise web.HTTPNotFound()

    async with serving(state, handle):
        yield state


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(db_url, tmp_path, hosts="links.test=127.0.0.1", preview_card_jitter_seconds=0)


def _linking(url: str, extra: str = "") -> str:
    return f'<p>{extra}look <a href="{url}" rel="nofollow noopener" target="_blank">{url}</a></p>'


def container_documents(client: httpx.AsyncClient) -> Any:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app.state.status_documents  # type: ignore[attr-defined]


async def _card_of(client: httpx.AsyncClient, status_id: int) -> Any:
    response = await client.get(f"/api/v1/statuses/{status_id}")
    assert response.status_code == 200
    return response.json()["card"]


async def test_fifty_posts_of_one_link_fetch_it_once(
    container: Container,
    client: httpx.AsyncClient,
    links: Links,
    make_remote_account,
    make_remote_status,
    drain_jobs,
) -> None:
    authors = [await make_remote_account(f"poster{i}", f"site{i}.example") for i in range(5)]
    statuses = [
        await make_remote_status(authors[i % 5], content=_linking(links.url("/og"))) for i in range(50)
    ]
    await drain_jobs()
    assert links.hits["/og"] == 1
    assert links.hits["/pic.png"] == 1
    async with container.db.uow(write=False) as uow:
        cards = (await uow.session.execute(select(func.count()).select_from(PreviewCard))).scalar_one()
        linked = (await uow.session.execute(select(func.count()).select_from(StatusPreviewCard))).scalar_one()
        fetches = (
            await uow.session.execute(
                select(func.count()).select_from(Job).where(Job.kind == "preview_cards.fetch")
            )
        ).scalar_one()
    assert (cards, linked, fetches) == (1, 50, 1)
    card = await _card_of(client, statuses[17].id)
    assert card["title"] == "The & headline"
    assert card["description"] == "What it is about"
    assert card["provider_name"] == "Links Daily"
    assert card["url"] == links.url("/og")
    assert card["type"] == "link"
    assert card["language"] == "fr"
    assert card["published_at"] == "2026-11-30T10:00:00.000Z"
    assert card["image_description"] == "A picture"
    # Our copy of the image, never the page's own, with its size and blurhash.
    assert card["image"] and not card["image"].startswith(links.url(""))
    assert card["width"] > 0 and card["height"] > 0 and card["blurhash"]
    assert card["authors"] == [{"name": "", "url": "", "account": None}]
    # A fresh post of a known link shows the card without another fetch.
    late = await make_remote_status(authors[0], content=_linking(links.url("/og")))
    await drain_jobs()
    assert links.hits["/og"] == 1
    assert (await _card_of(client, late.id))["title"] == "The & headline"


async def test_local_post_gets_its_card_on_the_orm_and_home_paths(
    container: Container, client: httpx.AsyncClient, links: Links, make_user, drain_jobs
) -> None:
    alice = await make_user("alice")
    posted = await client.post(
        "/api/v1/statuses", headers=alice.headers, json={"status": f"see {links.url('/video')} #news"}
    )
    assert posted.status_code == 200
    assert posted.json()["card"] is None  # fetched by a job, after the post
    # A full page (limit 1) takes the home fast path, which keeps the rendering without a card.
    first_home = await client.get("/api/v1/timelines/home", params={"limit": "1"}, headers=alice.headers)
    assert first_home.status_code == 200 and first_home.json()[0]["card"] is None
    assert int(posted.json()["id"]) in container_documents(client).statuses
    subscription = await container.pubsub.subscribe([streams.home_channel(alice.account_id)])
    await drain_jobs()
    # The card's arrival is a `status.update` on the streams showing the post (after its `update`).
    events = []
    while (message := subscription.get_nowait()) is not None:
        events.append(streams.decode(message[1]))
    await subscription.close()
    assert {"event": "status.update", "status_id": posted.json()["id"]} in events
    assert links.hits["/video"] == 1 and links.hits["/oembed.json"] == 1
    card = await _card_of(client, int(posted.json()["id"]))
    assert card["type"] == "video"
    assert card["title"] == "A video"
    assert card["author_name"] == "Someone"
    assert card["author_url"] == links.url("/@someone")
    assert card["html"] == '<iframe src="https://links.test/embed/1" width="640" height="360"></iframe>'
    assert (card["width"], card["height"]) == (640, 360)
    # The card's update changed the status's stamp: the kept rendering is not served again.
    home = await client.get("/api/v1/timelines/home", params={"limit": "1"}, headers=alice.headers)
    assert home.json()[0]["card"] == card


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/plain", "no title"),
        ("/huge", "larger than"),
        ("/to-private", "refused destination"),
        ("/image-only", "not an HTML page"),
    ],
)
async def test_pages_without_a_card(
    container: Container,
    client: httpx.AsyncClient,
    links: Links,
    make_remote_account,
    make_remote_status,
    drain_jobs,
    path: str,
    error: str,
) -> None:
    author = await make_remote_account("carol", "carol.example")
    status = await make_remote_status(author, content=_linking(links.url(path)))
    await drain_jobs()
    assert links.hits[path] == 1
    assert await _card_of(client, status.id) is None
    async with container.db.uow(write=False) as uow:
        card = (await uow.session.execute(select(PreviewCard))).scalar_one()
    assert card.fetched_at is not None and card.error is not None and error in card.error


async def test_a_slow_page_is_cut_off_and_retried_later(
    container: Container,
    client: httpx.AsyncClient,
    links: Links,
    make_remote_account,
    make_remote_status,
    drain_jobs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch, "DEADLINE_SECONDS", 0.5)
    author = await make_remote_account("dave", "dave.example")
    status = await make_remote_status(author, content=_linking(links.url("/slow")))
    await drain_jobs()
    assert links.hits["/slow"] == 1
    assert await _card_of(client, status.id) is None
    async with container.db.uow(write=False) as uow:
        job = (await uow.session.execute(select(Job).where(Job.kind == "preview_cards.fetch"))).scalar_one()
        card = (await uow.session.execute(select(PreviewCard))).scalar_one()
    assert (job.state, job.attempts) == ("queued", 1) and "timed out" in (job.last_error or "")
    assert card.fetched_at is None


async def test_which_link_a_card_is_for(
    container: Container,
    client: httpx.AsyncClient,
    links: Links,
    make_user,
    make_remote_account,
    make_remote_status,
    drain_jobs,
) -> None:
    bob = await make_remote_account("bob", "remote.example")
    mention = f'<span class="h-card"><a href="{bob.url}" class="u-url mention">@<span>bob</span></a></span> '
    hashtag = f'<a href="{links.url("/tags/x")}" class="mention hashtag" rel="tag">#x</a> '
    ours = f'<a href="https://{TEST_DOMAIN}/@alice/1">mine</a> '
    # Mentions, hashtags and our own pages are passed over: the card is the next link's.
    skipping = await make_remote_status(bob, content=_linking(links.url("/og"), mention + hashtag + ours))
    # A content warning (remote) and a post with only skipped links get none.
    warned = await make_remote_status(bob, content=_linking(links.url("/video")), spoiler_text="cw")
    none = await make_remote_status(bob, content=f"<p>{mention}{hashtag}{ours}</p>")
    await drain_jobs()
    assert (await _card_of(client, skipping.id))["title"] == "The & headline"
    assert await _card_of(client, warned.id) is None
    assert await _card_of(client, none.id) is None
    assert links.hits["/video"] == 0 and links.hits["/tags/x"] == 0
    # An edit to another link moves the post to that link's card.
    alice = await make_user("alice")
    posted = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": links.url("/og")})
    await drain_jobs()
    assert (await _card_of(client, int(posted.json()["id"])))["title"] == "The & headline"
    edited = await client.put(
        f"/api/v1/statuses/{posted.json()['id']}", headers=alice.headers, json={"status": links.url("/video")}
    )
    assert edited.status_code == 200
    await drain_jobs()
    assert (await _card_of(client, int(posted.json()["id"])))["title"] == "A video"
    assert links.hits["/og"] == 1


def test_card_json_is_stable() -> None:
    """The entity keeps Mastodon's keys in one shape (what clients parse)."""
    from kinfolk.api.entities.preview_card import render_card
    from kinfolk.infra.storage import LocalStorage

    card = PreviewCard(
        link="https://a.example/",
        link_digest="x",
        url="https://a.example/",
        type="link",
        title="t",
        description="",
        author_name="",
        author_url="",
        provider_name="",
        provider_url="",
        html="",
        width=0,
        height=0,
        embed_url="",
        image_description="",
    )
    assert render_card(LocalStorage(Path("/nonexistent"), "https://x.example/media"), card) is None
    from kinfolk.kernel.clock import utcnow

    card.fetched_at = utcnow()
    body = render_card(LocalStorage(Path("/nonexistent"), "https://x.example/media"), card)
    assert body is not None
    assert sorted(orjson.loads(orjson.dumps(body))) == sorted(
        [
            "url",
            "title",
            "description",
            "language",
            "type",
            "author_name",
            "author_url",
            "provider_name",
            "provider_url",
            "html",
            "width",
            "height",
            "image",
            "image_description",
            "embed_url",
            "blurhash",
            "published_at",
            "authors",
        ]
    )
