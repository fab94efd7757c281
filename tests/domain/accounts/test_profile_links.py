"""Verified profile links: pages served by a real HTTP server on 127.0.0.1 (as `links.test`), read
through the outbound guard by `accounts.verify_link` jobs, on both databases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import func, select
from tests.conftest import TEST_DOMAIN
from tests.loopback import Site, loopback_settings, serving

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.links import VERIFY_JOB, link_of, links_back
from kinfolk.domain.accounts.models import Account
from kinfolk.jobs.models import Job

ALICE = f"https://{TEST_DOMAIN}/@alice"
BOB_URL = "https://remote.example/@bob"
BOB_URI = "https://remote.example/users/bob"


@dataclass
class Pages(Site):
    """The linked pages: `html` by path; `/moved` redirects to `/alice`, `/to-private` to a
    private address."""

    html: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def pages() -> AsyncIterator[Pages]:
    state = Pages()

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/moved":
            raise web.HTTPFound("/alice")
        if request.path == "/to-private":
            raise web.HTTPFound("http://10.1.2.3/admin")
        html = state.html.get(request.path)
        if html is None:
            raise web.HTTPNotFound()
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async with serving(state, handle):
        yield state


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(db_url, tmp_path, hosts="links.test=127.0.0.1")


def _page(*links: str) -> str:
    return "<!doctype html><html><head><title>Home</title>" + "".join(links) + "</head><body></body></html>"


async def _update_fields(
    client: httpx.AsyncClient, headers: dict[str, str], fields: list[tuple[str, str]]
) -> Any:
    form = {}
    for i, (name, value) in enumerate(fields):
        form[f"fields_attributes[{i}][name]"] = name
        form[f"fields_attributes[{i}][value]"] = value
    response = await client.patch("/api/v1/accounts/update_credentials", headers=headers, data=form)
    assert response.status_code == 200, response.text
    return response.json()


async def _fields(client: httpx.AsyncClient, account_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/accounts/{account_id}")
    assert response.status_code == 200, response.text
    fields: list[dict[str, Any]] = response.json()["fields"]
    return fields


async def _verify_jobs(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        count = await uow.session.execute(select(func.count()).select_from(Job).where(Job.kind == VERIFY_JOB))
        return int(count.scalar_one())


async def test_a_local_link_that_links_back_is_verified_and_loses_it_when_changed(
    container: Container, client: httpx.AsyncClient, pages: Pages, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    pages.html["/alice"] = _page(f'<link rel="me" href="{ALICE}">')
    pages.html["/other"] = _page(
        f'<a href="{ALICE}">no rel</a>', '<a rel="me" href="https://elsewhere.example/@x">'
    )
    body = await _update_fields(
        client,
        alice.headers,
        [("Home", pages.url("/alice")), ("Other", pages.url("/other")), ("Words", "not a link")],
    )
    assert [f["verified_at"] for f in body["fields"]] == [None, None, None]
    await drain_jobs()
    assert pages.hits["/alice"] == 1 and pages.hits["/other"] == 1
    fields = await _fields(client, alice.account_id)
    verified = fields[0]["verified_at"]
    assert verified is not None and verified.endswith("Z") and verified.startswith("20")
    assert [f["verified_at"] for f in fields[1:]] == [None, None]
    # The verified link keeps rel="me" in its HTML, in the API and in the actor.
    rel = re.search(r'rel="([^"]*)"', fields[0]["value"])
    assert rel is not None and "me" in rel.group(1).split()
    credentials = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert credentials.json()["source"]["fields"][0]["verified_at"] == verified
    actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 200, actor.text
    # The actor shows the field as Mastodon's does: name and HTML value, no verification.
    assert actor.json()["attachment"][0] == {
        "type": "PropertyValue",
        "name": "Home",
        "value": fields[0]["value"],
    }

    # Saving the same fields again keeps the verification, without reading the page again.
    await _update_fields(
        client, alice.headers, [("Home", pages.url("/alice")), ("Other", pages.url("/other"))]
    )
    await drain_jobs()
    assert pages.hits["/alice"] == 1
    assert (await _fields(client, alice.account_id))[0]["verified_at"] == verified
    # A changed value loses it; the new page does not link back.
    pages.html["/new"] = _page("<p>nothing</p>")
    await _update_fields(client, alice.headers, [("Home", pages.url("/new"))])
    await drain_jobs()
    assert pages.hits["/new"] == 1
    assert [f["verified_at"] for f in await _fields(client, alice.account_id)] == [None]


async def test_remote_links_are_verified_here_whatever_their_server_says(
    container: Container, client: httpx.AsyncClient, pages: Pages, make_remote_account: Any, drain_jobs: Any
) -> None:
    pages.html["/bob"] = _page(f'<a rel="ME nofollow" href="{BOB_URI}">me</a>')
    pages.html["/liar"] = _page("<p>no link back</p>")
    good, liar = pages.url("/bob"), pages.url("/liar")
    fields = [
        {"name": "Site", "value": f'<a href="{good}" rel="nofollow noopener">{good}</a>'},
        {"name": "Claimed", "value": f'<a href="{liar}">{liar}</a>', "verified_at": "2020-01-01T00:00:00Z"},
        {"name": "Hidden", "value": f'see <a href="{good}">my site</a>'},
    ]
    bob = await make_remote_account("bob", fields=fields)
    # Not believed: nothing is verified until we have read the pages.
    assert [f["verified_at"] for f in await _fields(client, bob.id)] == [None, None, None]
    assert await _verify_jobs(container) == 2  # "Hidden" is not one bare link
    await drain_jobs()
    verified = [f["verified_at"] for f in await _fields(client, bob.id)]
    assert verified[0] is not None and verified[1:] == [None, None]
    assert pages.hits["/bob"] == 1 and pages.hits["/liar"] == 1

    # The actor fetched again with the same fields keeps our verification and reads nothing.
    await make_remote_account("bob", fields=fields)
    await drain_jobs()
    assert pages.hits["/bob"] == 1
    assert (await _fields(client, bob.id))[0]["verified_at"] == verified[0]
    # A changed value loses it.
    other = pages.url("/liar")
    await make_remote_account("bob", fields=[{"name": "Site", "value": f'<a href="{other}">{other}</a>'}])
    assert [f["verified_at"] for f in await _fields(client, bob.id)] == [None]


async def test_a_value_changed_while_the_page_is_read_is_not_marked(
    container: Container, client: httpx.AsyncClient, pages: Pages, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    pages.html["/alice"] = _page(f'<a rel="me" href="{ALICE}">me</a>')
    await _update_fields(client, alice.headers, [("Home", pages.url("/alice"))])
    # Changed before the job runs: the queued job finds no field with its link and reads nothing.
    await _update_fields(client, alice.headers, [("Home", "plain words")])
    await drain_jobs()
    assert pages.hits["/alice"] == 0
    assert [f["verified_at"] for f in await _fields(client, alice.account_id)] == [None]


async def test_unreadable_pages_verify_nothing(
    container: Container, client: httpx.AsyncClient, pages: Pages, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    await _update_fields(
        client,
        alice.headers,
        [("Gone", pages.url("/missing")), ("Private", pages.url("/to-private"))],
    )
    await drain_jobs()
    assert pages.hits["/missing"] == 1 and pages.hits["/to-private"] == 1
    assert [f["verified_at"] for f in await _fields(client, alice.account_id)] == [None, None]


def test_which_values_are_links_and_which_pages_link_back() -> None:
    remote = Account(id=1, username="bob", domain="remote.example", uri=BOB_URI, url=BOB_URL)
    local = Account(id=2, username="alice", domain=None)
    assert link_of(local, {"source": " https://a.example/x "}) == "https://a.example/x"
    assert link_of(local, {"source": "ftp://a.example/x"}) is None
    assert link_of(local, {"source": "https://a.example/x and more"}) is None
    assert link_of(local, {"source": "https://" + "a" * 300 + ".example"}) is None
    shown = '<a href="https://a.example/" rel="me"><span class="invisible">https://</span>a.example/</a>'
    assert link_of(remote, {"value": shown}) == "https://a.example/"
    assert link_of(remote, {"value": '<a href="https://a.example/">elsewhere</a>'}) is None
    assert link_of(remote, {"value": '<a href="javascript:x()">javascript:x()</a>'}) is None
    assert links_back(f'<link rel="me authn" href="{BOB_URL.upper()}">', [BOB_URL])
    assert links_back(f'<a rel="me" href=" {BOB_URI} "/>', [BOB_URL, BOB_URI])
    assert not links_back(f'<a rel="meh" href="{BOB_URL}">', [BOB_URL])
    assert not links_back(f'<a href="{BOB_URL}">', [BOB_URL])
    assert not links_back(f'<img rel="me" src="{BOB_URL}">', [BOB_URL])
