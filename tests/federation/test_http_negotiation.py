"""One URL, two audiences: ActivityStreams JSON for servers, an HTML page for browsers."""

from __future__ import annotations

from typing import Any

import httpx

from kinfolk.federation.http.negotiation import wants_json
from tests.federation.helpers import AP, LD, ap_get, post

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_browser_gets_profile_page(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    await post(client, alice, status="visible to all", visibility="public")
    await post(client, alice, status="followers only", visibility="private")
    for path in ("/@alice", "/users/alice"):
        response = await ap_get(client, path, BROWSER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "Accept" in response.headers["vary"]
        assert "@alice@kinfolk.test" in response.text
        assert "visible to all" in response.text
        assert "followers only" not in response.text


async def test_browser_gets_status_page(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="<b>look</b> here")
    for path in (f"/@alice/{status['id']}", f"/users/alice/statuses/{status['id']}"):
        response = await ap_get(client, path, BROWSER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "look" in response.text
        # Escaped by the composer, so never markup here.
        assert "<b>look</b>" not in response.text


async def test_instance_actor_sends_browsers_home(client: httpx.AsyncClient) -> None:
    response = await ap_get(client, "/actor", BROWSER)
    assert response.status_code == 302
    assert response.headers["location"] == "https://kinfolk.test/"


def test_accept_header_choice() -> None:
    assert wants_json(AP, default_json=False)
    assert wants_json(LD, default_json=False)
    assert wants_json("application/ld+json", default_json=False)
    assert wants_json("application/json", default_json=False)
    assert not wants_json(BROWSER, default_json=True)
    assert not wants_json(f"{AP};q=0.1, text/html", default_json=True)
    assert wants_json(f"text/html;q=0.2, {AP}", default_json=False)
    assert wants_json("*/*", default_json=True) and not wants_json("*/*", default_json=False)
    assert wants_json(None, default_json=True)
    assert not wants_json("application/json;q=nonsense", default_json=False)
    # A hostile header is read only up to its cap.
    assert not wants_json("x/y," * 100_000 + AP, default_json=False)
