"""A relay relaying between two servers that don't follow each other: alpha subscribes to the
test relay by its inbox (Mastodon-style, a `Follow` of the Public collection), beta by its
actor (LitePub-style, a `Follow` of the actor); the relay accepts both. alice's public post on
alpha goes to the relay, which announces it to beta; beta fetches it from alpha and shows it in
its federated timeline only: as alice's post, not as a boost by the relay, and in no home.
An unlisted post is not relayed. Unsubscribing sends the relay an `Undo`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.federation.conftest import StartFederation
from tests.federation.harness import wait_until
from tests.federation.relay_server import PUBLIC, RelayServer


@pytest.fixture
def relay() -> Iterator[RelayServer]:
    running = RelayServer()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_a_relay_between_two_servers(start_federation: StartFederation, relay: RelayServer) -> None:
    fed = start_federation(["alpha", "beta"], peers=[relay.host])
    alpha, beta = fed["alpha"], fed["beta"]
    alice = alpha.create_user("alice_relay")
    bob = beta.create_user("bob_relay")

    assert "Mastodon-style" in alpha.cli("relays", "add", relay.inbox)
    assert "LitePub" in beta.cli("relays", "add", relay.actor)
    wait_until(lambda: len(relay.subscribers) == 2, 20, what="both servers subscribed")
    follows = {str(doc["actor"]): doc["object"] for doc in relay.received if doc.get("type") == "Follow"}
    assert follows == {f"{alpha.origin}/actor": PUBLIC, f"{beta.origin}/actor": relay.actor}
    for server in (alpha, beta):
        wait_until(lambda s=server: "accepted" in s.cli("relays", "list"), 20, what="the Accept came back")

    quiet = alice.api.status_post("only for those who look", visibility="unlisted")
    posted = alice.api.status_post("hello relay friends")

    def on_beta() -> dict[str, object] | None:
        for status in bob.api.timeline_public(limit=40):
            if status["uri"] == posted["uri"]:
                return dict(status)
        return None

    shown = wait_until(on_beta, 30, what="alice's post in beta's federated timeline")
    assert shown["account"]["acct"] == alice.acct
    assert shown["reblog"] is None
    assert [s for s in bob.api.timeline_home(limit=40) if s["uri"] == posted["uri"]] == []
    # Alpha sent the relay only the public post; the relay announced it to beta alone.
    relayed = [doc["object"]["id"] for doc in relay.received if doc.get("type") == "Create"]
    assert relayed == [posted["uri"]]
    assert quiet["uri"] not in [uri for _, uri in relay.announced]
    # The relay is nobody's boost: beta's federated timeline has no status by it.
    assert all(s["account"]["acct"].split("@")[0] != "relay" for s in bob.api.timeline_public(limit=40))

    assert "Unsubscribed" in beta.cli("relays", "remove", relay.actor)
    wait_until(lambda: f"{beta.origin}/actor" not in relay.subscribers, 20, what="beta's Undo")
    assert beta.cli("relays", "list").strip() == ""
