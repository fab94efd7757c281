"""One link shared by 50 posts: each server fetches it once, whatever the number of posts.

alice on alpha posts the same link 50 times; bob on beta follows her, so beta receives 50
remote posts of it. A page server in the test process (`links.test`, resolved to the loopback
by the servers' `KINFOLK_HOSTS`) counts the requests: one from alpha (its local posts), one
from beta (the remote ones, after its jitter), however many posts carry the link. Both
servers' posts show the card, as their users see them through Mastodon.py."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.federation.conftest import StartFederation
from tests.federation.harness import wait_until
from tests.federation.social import follow

PAGE = b"""<!doctype html><html lang="en"><head><title>fallback</title>
<meta property="og:title" content="Shared article">
<meta property="og:description" content="Everyone links to it">
<meta property="og:site_name" content="Links">
</head><body></body></html>"""
POSTS = 50


class _Pages(ThreadingHTTPServer):
    hits: Counter[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Pages

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        if self.path != "/article":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def pages() -> Iterator[_Pages]:
    server = _Pages(("127.0.0.1", 0), _Handler)
    server.hits = Counter()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_one_link_shared_by_fifty_posts_is_fetched_once_per_server(
    start_federation: StartFederation, pages: _Pages
) -> None:
    fed = start_federation(
        ["alpha", "beta"], peers=["links.test"], env={"KINFOLK_PREVIEW_CARD_JITTER_SECONDS": "2"}
    )
    alice = fed["alpha"].create_user("alice_cards")
    bob = fed["beta"].create_user("bob_cards")
    follow(bob, alice)
    link = f"http://links.test:{pages.server_address[1]}/article"
    posted = [alice.api.status_post(f"post {i}: {link}")["id"] for i in range(POSTS)]

    def carded_on_beta() -> bool:
        home = bob.api.timeline_home(limit=40)
        return len(home) == 40 and all(s["card"] and s["card"]["title"] == "Shared article" for s in home)

    wait_until(carded_on_beta, timeout=60, what="beta's copies of the 50 posts with their card")
    wait_until(
        lambda: all(alice.api.status(i)["card"] for i in (posted[0], posted[-1])),
        timeout=30,
        what="alpha's posts with their card",
    )
    card = alice.api.status(posted[7])["card"]
    assert (card["title"], card["description"], card["provider_name"]) == (
        "Shared article",
        "Everyone links to it",
        "Links",
    )
    assert pages.hits == Counter({"/article": 2})
