"""Fixtures for the federation tests: sets of real Kinfolk servers (harness.py), on SQLite and
on PostgreSQL, whose logs are attached to a failed test's report.

- `federation`: alpha and beta, started once per module and backend and shared by its tests.
  Tests that share it must not depend on each other's accounts or posts: each makes its own
  users (`server.create_user`), and none stops or kills a shared server.
- `trio`: alpha, beta and gamma, shared the same way.
- `start_federation(names, peers=..., env=...)`: a set of the test's own, killed at its end;
  for tests that stop, kill or reconfigure servers.
- `independent_peer`: the pubby server of independent.py (`peer.test:<port>`), beside the
  shared `federation`; every federation's `KINFOLK_HOSTS` names `peer.test` already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kinfolk.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, unavailable
from tests.federation.harness import LIVE, Federation, PostgresDatabases, sqlite_databases
from tests.federation.independent import PEER, PubbyPeer, available

# Startup times of every federation in this run, printed at the end (CI has a time budget).
STARTUPS: list[tuple[str, int, float]] = []


@pytest.fixture(scope="session")
def federation_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("federation-template") / "kinfolk.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def federation_pg() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(PG_ADMIN_URL)
    try:
        databases.create_template()
    except Exception as exc:
        databases.drop_all()
        unavailable("PostgreSQL", exc)
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def federation_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


StartFederation = Callable[..., Federation]


def _starter(
    request: pytest.FixtureRequest, backend: str, tmp: Path, started: list[Federation]
) -> StartFederation:
    def start(
        names: tuple[str, ...] | list[str] = ("alpha", "beta"),
        *,
        peers: tuple[str, ...] | list[str] = (),
        env: dict[str, str] | None = None,
    ) -> Federation:
        base = tmp / f"set{len(started)}"
        if backend == "sqlite":
            template: Path = request.getfixturevalue("federation_sqlite_template")
            databases: Callable[[str], str] = sqlite_databases(template, base)
        else:
            databases = request.getfixturevalue("federation_pg")
        federation = Federation(base, list(names), databases, peers=[f"{PEER}.test", *peers], env=env)
        started.append(federation)
        seconds = federation.start()
        STARTUPS.append((backend, len(names), seconds))
        return federation

    return start


@pytest.fixture(scope="module")
def federation(
    request: pytest.FixtureRequest, federation_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """alpha and beta, shared by the tests of a module (one set per backend)."""
    started: list[Federation] = []
    start = _starter(request, federation_backend, tmp_path_factory.mktemp("federation"), started)
    try:
        yield start()
    finally:
        for federation in started:
            federation.close()


@pytest.fixture(scope="module")
def trio(
    request: pytest.FixtureRequest, federation_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """alpha, beta and gamma, shared by the tests of a module (one set per backend): for
    scenarios that need a third server (a reply thread across three, a server that must not
    receive what two others share)."""
    started: list[Federation] = []
    start = _starter(request, federation_backend, tmp_path_factory.mktemp("trio"), started)
    try:
        yield start(["alpha", "beta", "gamma"])
    finally:
        for federation in started:
            federation.close()


@pytest.fixture
def start_federation(
    request: pytest.FixtureRequest, federation_backend: str, tmp_path: Path
) -> Iterator[StartFederation]:
    """`start_federation(["alpha", "beta", "gamma"])`: servers of this test only."""
    started: list[Federation] = []
    try:
        yield _starter(request, federation_backend, tmp_path, started)
    finally:
        for federation in started:
            federation.close()


@pytest.fixture(scope="module")
def independent_peer(federation: Federation, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubbyPeer]:
    """The pubby peer, reaching the shared federation's servers by name (one per module)."""
    missing = available()
    if missing:
        unavailable("the independent ActivityPub peer", missing)
    peer = PubbyPeer.start(tmp_path_factory.mktemp("peer"), hosts=[server.host for server in federation])
    LIVE_PEERS.append(peer)
    try:
        yield peer
    finally:
        LIVE_PEERS.remove(peer)
        peer.close()


LIVE_PEERS: list[PubbyPeer] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A failed test's report carries the logs of every server alive at that moment."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for federation in LIVE:
            for server in federation:
                report.sections.append((f"kinfolk {server.name} ({server.origin})", server.logs(20000)))
        for peer in LIVE_PEERS:
            report.sections.append((f"pubby peer ({peer.origin})", peer.logs(20000)))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    for backend, count, seconds in STARTUPS:
        terminalreporter.write_line(f"federation: {count} servers on {backend} started in {seconds:.2f} s")
