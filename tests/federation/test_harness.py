"""The harness itself: two servers under their own names, each with a user, each answering
WebFinger for its own domain (port included) and the client API through Mastodon.py; a status
posted on alpha is visible on alpha; a server stopped, killed and started again keeps its data."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from tests.federation.conftest import StartFederation
from tests.federation.harness import Federation, Server, wait_until


def _webfinger(server: Server, acct: str) -> dict[str, object]:
    query = urllib.parse.urlencode({"resource": f"acct:{acct}"})
    with urllib.request.urlopen(f"{server.url}/.well-known/webfinger?{query}", timeout=10) as response:
        assert response.status == 200
        document: dict[str, object] = json.loads(response.read())
        return document


def test_two_servers_each_with_a_user(federation: Federation) -> None:
    alpha, beta = federation["alpha"], federation["beta"]
    assert alpha.domain != beta.domain and alpha.port != beta.port
    users = {server.name: server.create_user("smoke") for server in (alpha, beta)}

    for server in (alpha, beta):
        user = users[server.name]
        finger = _webfinger(server, user.acct)
        assert finger["subject"] == f"acct:smoke@{server.domain}"
        links = finger["links"]
        assert isinstance(links, list)
        # The actor link names the server by its own domain, never the address we reached it by.
        assert any(str(link.get("href", "")).startswith(server.origin) for link in links), links

        me = user.api.account_verify_credentials()
        assert me["username"] == "smoke"
        assert me["acct"] == "smoke"
        assert str(me["url"]).startswith(server.origin)

    posted = users["alpha"].api.status_post("hello from alpha", visibility="public")
    assert str(posted["uri"]).startswith(alpha.origin)
    assert users["alpha"].api.status(posted["id"])["content"] == "<p>hello from alpha</p>"
    wait_until(
        lambda: any(s["id"] == posted["id"] for s in users["alpha"].api.timeline_home()),
        what="the post in its author's home timeline",
    )
    anonymous = alpha.client().account_statuses(users["alpha"].api.me()["id"])
    assert [s["id"] for s in anonymous] == [posted["id"]]


def test_a_server_stopped_or_killed_keeps_its_data(start_federation: StartFederation) -> None:
    federation = start_federation(["gamma"])
    gamma = federation["gamma"]
    user = gamma.create_user("keeper", locked=True)
    assert user.api.me()["locked"] is True
    assert "keeper" in gamma.cli("accounts", "list")  # operator commands reach its database
    first = user.api.status_post("before the stop")

    gamma.stop()
    assert not gamma.running
    gamma.start()
    second = user.api.status_post("after the stop")

    gamma.kill()
    assert not gamma.running
    gamma.start()
    assert [s["id"] for s in user.api.account_statuses(user.api.me()["id"])] == [second["id"], first["id"]]
