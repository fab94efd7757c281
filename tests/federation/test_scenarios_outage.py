"""Issue 12's failure scenarios: a server down for a while receives everything once it is back,
and a worker killed with SIGKILL in the middle of its deliveries loses none of them; in both,
nothing arrives twice.

The two tests share one pair of servers of this module (they stop and kill them, so not the
shared `federation`); each leaves both running. A failed delivery waits for its retry
(`jobs/kinds.delivery_backoff`: the first after 16 to 74 s), hence the long waits of the first
test. The second needs no retry: a killed worker's jobs are taken back when it starts again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

import pytest

from tests.federation.conftest import _starter
from tests.federation.harness import Federation, User, wait_until
from tests.federation.social import follow, home_uris

# The first retry of a failed delivery comes 16 to 74 s later (delivery_backoff(1)), and the
# receiver may have come back just after a second failure: room for two retries.
AFTER_RETRIES = 200.0


@pytest.fixture(scope="module")
def pair(
    request: pytest.FixtureRequest, federation_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    started: list[Federation] = []
    start = _starter(request, federation_backend, tmp_path_factory.mktemp("outage"), started)
    try:
        yield start(["alpha", "beta"])
    finally:
        for federation in started:
            federation.close()


@pytest.fixture
def running(pair: Federation) -> Iterator[Federation]:
    """The pair, started again after the test whatever it stopped."""
    try:
        yield pair
    finally:
        for server in pair:
            if not server.running:
                server.start()


def _all_in_home(user: User, uris: list[str]) -> bool:
    return set(uris) <= set(home_uris(user, limit=40))


def _exactly_once(user: User, uris: list[str]) -> bool:
    home = home_uris(user, limit=40)
    return all(home.count(uri) == 1 for uri in uris)


def test_a_server_down_for_a_while_receives_everything_once_back(running: Federation) -> None:
    alpha, beta = running["alpha"], running["beta"]
    alice = alpha.create_user("alice_down")
    bob = beta.create_user("bob_down")
    follow(bob, alice)

    beta.stop()
    posted = [alice.api.status_post(f"while beta was down, {n}", visibility="public") for n in range(3)]
    # alpha tried (and failed) before beta comes back: the retries are what is tested.
    tried = re.compile(r"federation\.deliver\s+delivery\s+queued\s+[1-9]\d*/")
    wait_until(
        lambda: tried.search(alpha.cli("jobs", "list", "--state", "queued", "--kind", "federation.deliver")),
        30,
        interval=1.0,
        what="deliveries to beta waiting for a retry on alpha",
    )
    beta.start()
    uris = [status["uri"] for status in posted]
    wait_until(
        lambda: set(uris) <= set(home_uris(bob)),
        AFTER_RETRIES,
        interval=2.0,
        what="every post made while beta was down in bob's home",
    )
    assert _exactly_once(bob, uris)


def test_a_worker_killed_mid_delivery_loses_none(running: Federation) -> None:
    alpha, beta = running["alpha"], running["beta"]
    alice = alpha.create_user("alice_killed")
    followers = [beta.create_user(f"bob_killed_{n}") for n in range(3)]
    for follower in followers:
        follow(follower, alice)

    posted = [alice.api.status_post(f"before the crash, {n}", visibility="public") for n in range(8)]
    alpha.kill()  # its worker is distributing and delivering those posts right now
    alpha.start()
    uris = [status["uri"] for status in posted]
    for follower in followers:
        wait_until(
            partial(_all_in_home, follower, uris),
            60,
            interval=1.0,
            what=f"every post in {follower.acct}'s home after alpha's crash",
        )
        assert _exactly_once(follower, uris)
    assert alice.api.status(posted[-1]["id"])["content"] == "<p>before the crash, 7</p>"
