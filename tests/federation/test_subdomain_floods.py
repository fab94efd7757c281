"""Checklist D.50: mentions of a thousand invented subdomains of one wildcard-DNS domain make a
bounded number of WebFinger requests (per post, and per site and minute whatever the number of
posts and searches) and enqueue a bounded number of jobs; an incoming note's mention tags are
never looked up at all. Every name is served by one local server (`KINFOLK_HOSTS`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.statuses.service import MAX_RESOLVED_MENTIONS
from kinfolk.federation import dereference, resolver
from kinfolk.jobs.models import Job
from tests.federation.remote_docs import FakeRemote, fake_remote, remote_container, remote_settings

FLOOD = 1000


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    async with fake_remote() as server:
        yield server


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    made = remote_settings(db_url, tmp_path)
    flood = ",".join(f"s{n}.flood.test=127.0.0.1" for n in range(FLOOD * 3))
    return made.model_copy(update={"hosts": f"{made.hosts},{flood}", "max_status_characters": 100_000})


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with remote_container(settings) as made:
        yield made


def _flood_hits(remote: FakeRemote) -> int:
    return sum(n for url, n in remote.hits.items() if ".flood.test:" in url)


def _webfingers(remote: FakeRemote) -> int:
    return sum(
        n for url, n in remote.hits.items() if ".flood.test:" in url and "/.well-known/webfinger" in url
    )


def _hosts(remote: FakeRemote) -> set[str]:
    """The flood's host names that were asked anything."""
    return {url.split("/")[2] for url, n in remote.hits.items() if ".flood.test:" in url and n}


def _mentions(remote: FakeRemote, first: int) -> str:
    """A text mentioning `FLOOD` accounts, each on a subdomain of its own, each served."""
    handles = []
    for n in range(first, first + FLOOD):
        remote.actor("u", host=f"s{n}.flood.test")
        handles.append(f"@u@s{n}.flood.test:{remote.port}")
    return " ".join(handles)


async def _jobs(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Job))).scalar_one())


async def test_posts_and_searches_mentioning_a_flood_of_subdomains(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote, container: Container
) -> None:
    alice = await make_user("alice")
    jobs = await _jobs(container)
    response = await client.post(
        "/api/v1/statuses", data={"status": _mentions(remote, 0)}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    # One post: its unknown mentions are looked up up to the cap, one WebFinger request each
    # (then the actor and its collections' counts, on the same host).
    assert _webfingers(remote) == MAX_RESOLVED_MENTIONS
    assert len(_hosts(remote)) == MAX_RESOLVED_MENTIONS
    assert await _jobs(container) - jobs <= 2
    # More posts and searches: the site's budget of hosts holds them all.
    for batch in (1, 2):
        response = await client.post(
            "/api/v1/statuses", data={"status": _mentions(remote, batch * FLOOD)}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
    for n in range(20):
        response = await client.get(
            "/api/v2/search",
            params={"q": f"@u@s{2 * FLOOD + n}.flood.test:{remote.port}", "resolve": "true"},
            headers=alice.headers,
        )
        assert response.status_code == 200
    assert _webfingers(remote) == resolver.SITE_HOSTS_PER_MINUTE
    assert len(_hosts(remote)) == resolver.SITE_HOSTS_PER_MINUTE
    assert await _jobs(container) - jobs <= 2 * 3
    # Another site is looked up as ever.
    remote.actor("bob")
    response = await client.get(
        "/api/v2/search",
        params={"q": f"@bob@remote.test:{remote.port}", "resolve": "true"},
        headers=alice.headers,
    )
    assert [a["acct"] for a in response.json()["accounts"]] == [f"bob@remote.test:{remote.port}"]


async def test_an_incoming_note_mentioning_a_flood_of_subdomains(
    remote: FakeRemote, container: Container
) -> None:
    bob = remote.actor("bob")
    tags = [
        {
            "type": "Mention",
            "href": f"http://s{n}.flood.test:{remote.port}/users/u",
            "name": f"@u@s{n}.flood.test",
        }
        for n in range(FLOOD)
    ]
    note = remote.note(bob, 1, "hello everyone", tag=tags)
    jobs = await _jobs(container)
    status = await dereference.fetch_note(container, note["id"])
    assert status is not None
    assert _flood_hits(remote) == 0
    assert await _jobs(container) - jobs <= 2
