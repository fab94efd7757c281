"""The one URI scheme (kernel/uris.py): what it formats, and that it reads back only its own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kinfolk.kernel.uris import Uris

URIS = Uris("https://kinfolk.test")


@dataclass
class Row:
    username: str
    domain: str | None = None
    uri: str | None = None
    url: str | None = None


def test_shapes_are_mastodons() -> None:
    assert URIS.actor("alice") == "https://kinfolk.test/users/alice"
    assert URIS.key_id("alice") == "https://kinfolk.test/users/alice#main-key"
    assert URIS.inbox("alice") == "https://kinfolk.test/users/alice/inbox"
    assert URIS.featured("alice") == "https://kinfolk.test/users/alice/collections/featured"
    assert URIS.shared_inbox() == "https://kinfolk.test/inbox"
    assert URIS.profile("alice") == "https://kinfolk.test/@alice"
    assert URIS.status("alice", 42) == "https://kinfolk.test/users/alice/statuses/42"
    assert URIS.status_page("alice", 42) == "https://kinfolk.test/@alice/42"
    assert URIS.status_activity("alice", 42) == "https://kinfolk.test/users/alice/statuses/42/activity"
    assert URIS.collection("alice", 7) == "https://kinfolk.test/users/alice/collections/7"
    assert URIS.collection_page(7) == "https://kinfolk.test/collections/7"
    assert URIS.host == "kinfolk.test"
    assert Uris("http://localhost:8000").host == "localhost:8000"


@pytest.mark.parametrize("username", ["alice", "Alice_1", "a.b-c_d"])
def test_actor_round_trips(username: str) -> None:
    assert URIS.parse_actor(URIS.actor(username)) == username
    assert URIS.parse_actor(URIS.profile(username)) == username
    assert URIS.parse_actor(URIS.actor(username) + "/") == username


@pytest.mark.parametrize(("username", "status_id"), [("alice", 1), ("bob.x", 114_000_000_000_000_001)])
def test_status_round_trips(username: str, status_id: int) -> None:
    for url in (
        URIS.status(username, status_id),
        URIS.status_page(username, status_id),
        URIS.status_activity(username, status_id),
    ):
        assert URIS.parse_status(url) == (username, status_id)
    # A status URL is not an actor's, nor an actor's a status's.
    assert URIS.parse_actor(URIS.status(username, status_id)) is None
    assert URIS.parse_status(URIS.actor(username)) is None


@pytest.mark.parametrize("name", ["cats", "FooBar", "Café", "日本語", "a/b?c#d", "100%"])
def test_tags_are_lower_cased_quoted_and_round_trip(name: str) -> None:
    url = URIS.tag(name)
    path = url.removeprefix("https://kinfolk.test/tags/")
    assert "/" not in path and "?" not in path and "#" not in path
    assert path.isascii()
    assert URIS.parse_tag(url) == name.lower()
    # Any case of the same name is the same URL.
    assert URIS.tag(name.upper()) == URIS.tag(name.lower()) == url


def test_tag_quoting() -> None:
    assert URIS.tag("FooBar") == "https://kinfolk.test/tags/foobar"
    assert URIS.tag("Café") == "https://kinfolk.test/tags/caf%C3%A9"
    assert URIS.tagged("alice", "FooBar") == "https://kinfolk.test/@alice/tagged/foobar"


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/users/alice",
        "https://elsewhere.example/@alice/1",
        "https://kinfolk.test.evil.example/users/alice",
        "https://evil-kinfolk.test/users/alice",
        "https://kinfolk.test@evil.example/users/alice",
        "https://user:pw@kinfolk.test/users/alice",
        "https://kinfolk.test:8443/users/alice",
        "https://kinfolk.test:notaport/users/alice",
        "ftp://kinfolk.test/users/alice",
        "//kinfolk.test/users/alice",
        "/users/alice",
        "",
    ],
)
def test_foreign_origins_are_refused(url: str) -> None:
    assert not URIS.is_local(url)
    assert URIS.parse_actor(url) is None
    assert URIS.parse_status(url.replace("/users/alice", "/users/alice/statuses/1")) is None
    assert URIS.parse_tag(url.replace("/users/alice", "/tags/x")) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://kinfolk.test/users/alice",
        "HTTPS://KINFOLK.TEST/users/alice",
        "https://kinfolk.test./users/alice",
        # Typed with http for our https: still names us (as Mastodon's `local_uri?` decides).
        "http://kinfolk.test/users/alice",
    ],
)
def test_own_origin_in_any_spelling(url: str) -> None:
    assert URIS.parse_actor(url) == "alice"


def test_ports_must_match() -> None:
    own = Uris("http://localhost:8000")
    assert own.parse_actor("http://localhost:8000/@alice") == "alice"
    assert own.parse_actor("http://localhost/@alice") is None
    assert own.parse_actor("http://localhost:9000/@alice") is None


@pytest.mark.parametrize(
    "path",
    [
        "/users/alice/inbox",
        "/users/al ice",
        "/users/al%20ice",
        "/users/-alice",
        "/users/alice/statuses/x",
        "/users/alice/statuses/12345678901234567890",
        "/@alice/1/2",
        "/tags/",
        "/tags/a/b",
        "/",
    ],
)
def test_other_paths_name_nothing(path: str) -> None:
    url = f"https://kinfolk.test{path}"
    assert URIS.parse_actor(url) is None
    assert URIS.parse_status(url) is None
    if not path.startswith("/tags/"):
        assert URIS.parse_tag(url) is None


def test_accounts_local_and_remote() -> None:
    local = Row("alice")
    assert URIS.account_id(local) == "https://kinfolk.test/users/alice"
    assert URIS.account_page(local) == "https://kinfolk.test/@alice"
    stored = Row("alice", uri="https://kinfolk.test/users/alice", url="https://kinfolk.test/@alice")
    assert URIS.account_id(stored) == stored.uri and URIS.account_page(stored) == stored.url

    remote = Row("bob", domain="r.example", uri="https://r.example/u/bob", url="https://r.example/@bob")
    assert URIS.account_id(remote) == "https://r.example/u/bob"
    assert URIS.account_page(remote) == "https://r.example/@bob"
    # A remote account without a page: its id, never a local page.
    no_page = Row("bob", domain="r.example", uri="https://r.example/u/bob")
    assert URIS.account_page(no_page) == "https://r.example/u/bob"
    # Without even an id: no id to give, and a blank page rather than one of ours.
    bare = Row("bob", domain="r.example")
    with pytest.raises(ValueError):
        URIS.account_id(bare)
    assert URIS.account_page(bare) == ""
