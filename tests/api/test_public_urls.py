"""Every public URL the client API hands out answers, for a browser and for a server: a link
an app shows (a profile, a post, a mention, a hashtag) opens a page, and the same URL fetched
as ActivityPub gives the document (Mastodon answers both on one URL)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from kinfolk.kernel.uris import Uris

HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
ACTIVITY = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def answer(client: httpx.AsyncClient, url: str, accept: str) -> httpx.Response:
    """GET `url` through the app as a client sending `accept` would, following redirects."""
    response = await client.get(url, headers={"Accept": accept}, follow_redirects=True)
    return response


def public_urls(status: dict[str, Any], account: dict[str, Any]) -> set[str]:
    urls = {account["url"], account["uri"], status["url"], status["uri"]}
    urls |= {m["url"] for m in status["mentions"]}
    urls |= {t["url"] for t in status["tags"]}
    urls |= set(re.findall(r'href="([^"]+)"', status["content"]))
    return urls


async def test_every_public_url_of_a_status_and_an_account_answers_a_browser_and_a_server(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    posted = await client.post(
        "/api/v1/statuses", data={"status": "hello #Kinfolk and #Tag_Two @bob"}, headers=alice.headers
    )
    assert posted.status_code == 200, posted.text
    status = (await client.get(f"/api/v1/statuses/{posted.json()['id']}", headers=bob.headers)).json()
    account = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    urls = public_urls(status, account)
    uris = Uris(str(client.base_url).rstrip("/"))
    assert all(uris.is_local(url) for url in urls), urls
    assert {t["name"] for t in status["tags"]} == {"kinfolk", "tag_two"}
    # Both tags, the mention, the account's page and id, the status's page and id.
    assert len(urls) >= 7, urls

    for url in sorted(urls):
        page = await answer(client, url, HTML)
        assert page.status_code == 200, (url, page.status_code, page.text[:200])
        assert page.headers["content-type"].startswith("text/html"), url
        for accept in (ACTIVITY, LD):
            document = await answer(client, url, accept)
            assert document.status_code == 200, (url, accept, document.status_code)
            assert document.headers["content-type"].startswith(ACTIVITY), url
            body = document.json()
            assert body["id"].startswith(str(client.base_url).rstrip("/")), (url, body["id"])
    # The account's pictures (the defaults, here) are files: they answer whatever is accepted.
    for key in ("avatar", "avatar_static", "header", "header_static"):
        picture = await answer(client, account[key], HTML)
        assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/"), key


async def test_a_tag_url_lists_public_posts_for_a_browser_and_is_a_collection_for_a_server(
    client: httpx.AsyncClient, make_user: Any, make_remote_account: Any, make_remote_status: Any
) -> None:
    alice = await make_user("alice")
    shown = []
    for text, visibility in (("public #Tagged", "public"), ("also public #tagged", "public")):
        response = await client.post(
            "/api/v1/statuses", data={"status": text, "visibility": visibility}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        shown.append(response.json())
    hidden = []
    for text, visibility in (("followers #tagged", "private"), ("unlisted #tagged", "unlisted")):
        response = await client.post(
            "/api/v1/statuses", data={"status": text, "visibility": visibility}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        hidden.append(response.json())
    bob = await make_remote_account("bob", "remote.example")
    remote = await make_remote_status(bob, "from afar #tagged", tag_names=["tagged"])
    url = shown[0]["tags"][0]["url"]
    assert url == f"{str(client.base_url).rstrip('/')}/tags/tagged"

    page = await answer(client, "/tags/Tagged", HTML)  # any case names the tag
    assert page.status_code == 200
    assert "also public" in page.text and "from afar" in page.text and remote.url in page.text
    assert all(h["content"] not in page.text for h in hidden)

    document = (await answer(client, url, ACTIVITY)).json()
    assert document["type"] == "OrderedCollection" and document["id"] == url
    # Our own public posts, newest first; never a private, unlisted or remote one.
    assert document["orderedItems"] == [s["uri"] for s in reversed(shown)]
    assert document["totalItems"] == 2

    for accept in (HTML, ACTIVITY):
        assert (await answer(client, "/tags/never-used", accept)).status_code == 404
