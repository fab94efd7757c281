"""What the scenario tests do as people would, through Mastodon.py on each user's own server:
find a remote account or post by its address, follow, read a home timeline or a stream.

Every lookup goes through the client API (`account_search(..., resolve=True)`, `search_v2`),
so a remote object is what the user's server made of it, never something the test planted."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import httpx

from tests.federation.harness import Server, User, wait_until

AP = "application/activity+json"


def find_account(user: User, other: User, timeout: float = 20.0) -> dict[str, Any]:
    """`other` as `user`'s server knows it, found by `@name@domain` (WebFinger on first use)."""

    def found() -> dict[str, Any] | None:
        for account in user.api.account_search(other.handle, resolve=True):
            if account["acct"] == other.acct:
                return dict(account)
        return None

    return wait_until(found, timeout, what=f"{other.acct} found from {user.acct}")


def find_status(user: User, uri: str, timeout: float = 20.0) -> dict[str, Any]:
    """A post by its URI as `user`'s server shows it to `user` (fetched on first use)."""

    def found() -> dict[str, Any] | None:
        for status in user.api.search_v2(uri, resolve=True, result_type="statuses")["statuses"]:
            if status["uri"] == uri:
                return dict(status)
        return None

    return wait_until(found, timeout, what=f"{uri} found from {user.acct}")


def relationship(user: User, account_id: Any) -> dict[str, Any]:
    return dict(user.api.account_relationships([account_id])[0])


def follow(user: User, other: User, timeout: float = 20.0) -> dict[str, Any]:
    """`user` follows `other` (not locked) and waits until the Accept made it `following`;
    `other` as `user`'s server knows it."""
    account = find_account(user, other)
    user.api.account_follow(account["id"])
    wait_until(
        lambda: relationship(user, account["id"])["following"],
        timeout,
        what=f"{user.acct} following {other.acct} (the Accept came back)",
    )
    return account


def home_uris(user: User, limit: int = 40) -> list[str]:
    return [status["uri"] for status in user.api.timeline_home(limit=limit)]


def wait_in_home(user: User, uri: str, timeout: float = 20.0) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for status in user.api.timeline_home(limit=40):
            if status["uri"] == uri:
                return dict(status)
        return None

    return wait_until(found, timeout, what=f"{uri} in {user.acct}'s home timeline")


def notifications(user: User, kind: str) -> list[dict[str, Any]]:
    return [dict(n) for n in user.api.notifications(types=[kind])]


def ap_get(server: Server, uri: str) -> tuple[int, str]:
    """An unsigned ActivityPub GET of one of `server`'s URIs from the test process (reached at
    `server.url`, its host header the address we reach it by): status and body."""
    assert uri.startswith(server.origin), uri
    request = urllib.request.Request(server.url + uri[len(server.origin) :], headers={"Accept": AP})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(errors="replace")


class UserStream:
    """The user stream over server-sent events (`GET /api/v1/streaming/user`), read by a thread:
    the `update` events' statuses as they arrive."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.updates: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> UserStream:
        self._thread.start()
        wait_until(lambda: self._open.is_set() or self.error, 10, what="the user stream open")
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        # The thread ends at the next event or heartbeat; a daemon, it never holds pytest up.
        self._stop.set()

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.user.token}", "Accept": "text/event-stream"}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5.0, read=60.0)) as client,
                client.stream(
                    "GET", f"{self.user.server.url}/api/v1/streaming/user", headers=headers
                ) as response,
            ):
                response.raise_for_status()
                self._open.set()
                event = ""
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "update":
                        self.updates.append(json.loads(line.split(":", 1)[1]))
        except BaseException as exc:  # reported by the waiting test
            if not self._stop.is_set():
                self.error = exc

    def wait_update(self, uri: str, timeout: float = 20.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            if self.error is not None:
                raise AssertionError(f"the stream failed: {self.error!r}")
            return next((s for s in self.updates if s.get("uri") == uri), None)

        return wait_until(found, timeout, what=f"{uri} on {self.user.acct}'s stream")


def actor_id(user: User) -> str:
    """`user`'s ActivityPub actor id, as WebFinger names it to other servers."""
    query = urllib.parse.urlencode({"resource": f"acct:{user.acct}"})
    with urllib.request.urlopen(f"{user.server.url}/.well-known/webfinger?{query}", timeout=10) as response:
        document = json.loads(response.read())
    return next(
        str(link["href"])
        for link in document["links"]
        if link.get("rel") == "self" and "activity+json" in str(link.get("type", ""))
    )
