"""Checklist A.15: made-up keyIds cost a bounded number of key fetches (per source address and per
keyId site, `keys.fetch_budget`), answered 429 with Retry-After past it, while senders whose keys
we hold, and senders from elsewhere, are served as before. Fetches are counted at the remote."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from kinfolk.container import Container
from kinfolk.federation import keys
from tests.conftest import TEST_DOMAIN
from tests.federation.inbox_support import (
    Remote,
    RemoteActor,
    activity,
    key_pair,
    post,
    remote,
    settings,
    signed,
    stored,
)

__all__ = ["remote", "settings"]  # fixtures


@pytest.fixture(autouse=True)
def one_long_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets count in windows aligned on the clock; one window for the whole test keeps a
    minute's turn from granting a second budget halfway through."""
    monkeypatch.setattr(keys, "KEY_FETCH_PERIOD", 10.0**9)


def _follow(actor: RemoteActor, number: int = 1) -> dict[str, Any]:
    return activity(actor, "Follow", f"https://{TEST_DOMAIN}/users/alice", number=number)


def _ghost(remote: Remote, n: int, host: str) -> RemoteActor:
    """An actor nobody serves (its key fetch is a 404 at the remote), signing with a real key."""
    private, public = key_pair(0)
    return RemoteActor(host, remote.port, f"ghost{n}", private, public)


def _client(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}")


async def test_unknown_keys_from_one_address_are_budgeted(
    app: Starlette, client: httpx.AsyncClient, container: Container, make_user: Any, remote: Remote
) -> None:
    await make_user("alice")
    known = remote.actor("known")
    body, headers = signed(_follow(known), known)
    assert (await post(client, body, headers)).status_code == 202
    fetches_before = len(remote.fetches)
    before = await stored(container)
    statuses: dict[int, int] = {}
    last: httpx.Response | None = None
    for n in range(1000):
        ghost = _ghost(remote, n, "remote.test" if n % 2 else "other.test")
        body, headers = signed(_follow(ghost), ghost)
        last = await post(client, body, headers)
        statuses[last.status_code] = statuses.get(last.status_code, 0) + 1
    # The known sender's first key fetch was one of this address's budget.
    budget = keys.KEY_FETCHES_PER_MINUTE
    fetched = len(remote.fetches) - fetches_before
    assert fetches_before == 1 and fetched == budget - 1, statuses
    assert statuses == {401: budget - 1, 429: 1000 - budget + 1}
    assert last is not None and int(last.headers["retry-after"]) > 0 and "error" in last.json()
    assert await stored(container) == before
    # A sender whose key is stored is served from the same address, without any fetch.
    body, headers = signed(_follow(known, number=2), known)
    assert (await post(client, body, headers)).status_code == 202
    # A new sender from another address is fetched and served.
    eve = remote.actor("eve", host="other.test")
    async with _client(app, "192.0.2.7") as elsewhere:
        body, headers = signed(_follow(eve), eve)
        assert (await post(elsewhere, body, headers)).status_code == 202
    assert len(remote.fetches) == fetches_before + fetched + 1


async def test_unknown_keys_on_one_site_from_many_addresses_are_budgeted(
    app: Starlette, container: Container, make_user: Any, remote: Remote
) -> None:
    await make_user("alice")
    over = 30
    for n in range(keys.KEY_FETCHES_PER_MINUTE + over):
        ghost = _ghost(remote, n, "remote.test")
        async with _client(app, f"198.51.100.{n % 250 + 1}" if n < 250 else f"203.0.113.{n % 250}") as source:
            body, headers = signed(_follow(ghost), ghost)
            response = await post(source, body, headers)
        assert response.status_code == (401 if n < keys.KEY_FETCHES_PER_MINUTE else 429), n
    assert len(remote.fetches) == keys.KEY_FETCHES_PER_MINUTE
    eve = remote.actor("eve", host="other.test")
    async with _client(app, "192.0.2.8") as elsewhere:
        body, headers = signed(_follow(eve), eve)
        assert (await post(elsewhere, body, headers)).status_code == 202
