"""Scaled out for real: 2 web processes and 2 worker processes (`kinfolk web`, `kinfolk worker`)
against one PostgreSQL database and one Redis.

- 2,000 enqueued jobs run exactly once across the two workers;
- a streaming client on web process 1 sees a post made through web process 2 (the worker's
  fan-out publishes through Redis, web 1 relays it);
- killing a worker mid-job loses nothing: its leases expire and the other worker finishes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pytest

from kinfolk.db.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
KINFOLK = str(Path(sys.executable).parent / "kinfolk")
PG_ADMIN_URL = os.environ.get("KINFOLK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("KINFOLK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1"
JOBS = 2000


def _unavailable(what: str, exc: BaseException) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (KINFOLK_REQUIRE_SERVICES=1) but unreachable: {exc}")
    pytest.skip(f"{what} unreachable: {exc}")


async def _pg(url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return [tuple(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Cluster:
    dsn: str
    env: dict[str, str]
    web_ports: list[int]
    tmp: Path
    webs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    files: list[BinaryIO] = field(default_factory=list)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.web_ports[index]}"

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
        self.files.append(log)
        return subprocess.Popen(
            [KINFOLK, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.tmp.glob("*.log")))

    def stop(self) -> None:
        for proc in [*self.webs, *self.workers]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.webs, *self.workers]:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in self.files:
            log.close()


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    name = f"kinfolk_mp_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    dsn = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    tmp = tmp_path_factory.mktemp("multiprocess")
    cluster: Cluster | None = None
    try:
        upgrade(dsn.replace("postgresql://", "postgresql+asyncpg://"))
        asyncio.run(
            _pg(
                dsn,
                "CREATE TABLE mp_runs (n integer NOT NULL, job_id bigint NOT NULL, "
                "pid integer NOT NULL, attempt integer NOT NULL)",
            )
        )
        ports = [_free_port(), _free_port()]
        env = {
            **os.environ,
            "KINFOLK_DATABASE_URL": dsn,
            "KINFOLK_REDIS_URL": REDIS_URL,
            "KINFOLK_REDIS_PREFIX": f"kinfolk-mp-{secrets.token_hex(4)}:",
            "KINFOLK_DATA_DIR": str(tmp / "data"),
            "KINFOLK_SECRET_KEY": "multiprocess-test-secret",
            "KINFOLK_DOMAIN": "kinfolk.test",
            # The processes are reached by address: a Host the server must accept.
            "KINFOLK_ALTERNATE_DOMAINS": "127.0.0.1",
            "KINFOLK_PROTOCOL": "https",
            "KINFOLK_JOB_MODULES": "tests.multiprocess_jobs",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
        cluster = Cluster(dsn=dsn, env=env, web_ports=ports, tmp=tmp)
        for i, port in enumerate(ports):
            cluster.webs.append(cluster.start("web", "--port", str(port), name=f"web{i + 1}"))
        for i in range(2):
            cluster.workers.append(cluster.start("worker", "--concurrency", "4", name=f"worker{i + 1}"))
        for i, proc in enumerate(cluster.webs):
            _wait_http(f"{cluster.url(i)}/api/v1/instance", proc)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        asyncio.run(_pg(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _enqueue(dsn: str, kind: str, payloads: list[dict[str, object]]) -> None:
    import tests.multiprocess_jobs  # noqa: F401  (registers the kinds: queue, attempts)
    from kinfolk.db.database import Database

    db = Database(dsn.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1)
    try:
        async with db.uow() as uow:
            for payload in payloads:
                await uow.enqueue(kind, payload)
    finally:
        await db.dispose()


async def _wait_done(cluster: Cluster, kind: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        rows = await _pg(cluster.dsn, "SELECT state, count(*) FROM jobs WHERE kind = $1 GROUP BY state", kind)
        states = {str(state): int(str(n)) for state, n in rows}
        done = states.get("done", 0)
        assert states.get("dead", 0) == 0, f"jobs died: {states}\n{cluster.logs()}"
        if done == count:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"only {done}/{count} {kind} jobs done after {timeout:.0f} s\n{cluster.logs()}")


async def _runs(cluster: Cluster, first: int, last: int) -> dict[int, list[tuple[int, int]]]:
    rows = await _pg(
        cluster.dsn, "SELECT n, pid, attempt FROM mp_runs WHERE n BETWEEN $1 AND $2", first, last
    )
    runs: dict[int, list[tuple[int, int]]] = {}
    for n, pid, attempt in rows:
        runs.setdefault(int(str(n)), []).append((int(str(pid)), int(str(attempt))))
    return runs


async def test_2000_jobs_run_exactly_once_across_the_workers(cluster: Cluster) -> None:
    await _enqueue(cluster.dsn, "mp.record", [{"n": n} for n in range(JOBS)])
    await _wait_done(cluster, "mp.record", JOBS, timeout=180)

    runs = await _runs(cluster, 0, JOBS - 1)
    assert sorted(runs) == list(range(JOBS))
    assert all(len(r) == 1 for r in runs.values()), [n for n, r in runs.items() if len(r) != 1][:10]
    by_worker = {pid for r in runs.values() for pid, _ in r}
    assert by_worker == {p.pid for p in cluster.workers}, "both workers should have taken jobs"


async def test_a_stream_on_web_1_sees_a_post_made_through_web_2(cluster: Cluster) -> None:
    import aiohttp

    from kinfolk.config import Settings
    from kinfolk.container import Container
    from kinfolk.domain.accounts.service import NewAccount, create_local_account
    from kinfolk.domain.oauth.service import create_application, issue_token

    settings = Settings(
        database_url=cluster.dsn, domain="kinfolk.test", data_dir=cluster.tmp / "data", secret_key="x"
    )
    container = Container.build(settings, pool_size=1)
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    try:
        async with container.db.uow() as uow:
            app = await create_application(uow.session, name="multiprocess", scopes="read write follow")
            for name in ("reader", "writer"):
                account, user = await create_local_account(
                    uow.session,
                    NewAccount(username=name, email=f"{name}@example.com", password="correct horse battery"),
                    uris=container.uris,
                )
                issued = await issue_token(
                    uow.session, application=app, user=user, scopes=["read", "write", "follow"]
                )
                tokens[name] = issued.access_token
                ids[name] = account.id
    finally:
        await container.close()

    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{cluster.url(1)}/api/v1/accounts/{ids['writer']}/follow", headers=auth("reader")
        ) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["following"] is True

        ws_url = f"{cluster.url(0).replace('http', 'ws')}/api/v1/streaming?stream=user"
        async with http.ws_connect(ws_url, headers=auth("reader"), heartbeat=None) as ws:
            # Mastodon sends nothing on subscribe: a round trip through web 1 proves it is listening.
            await asyncio.sleep(0.5)
            async with http.post(
                f"{cluster.url(1)}/api/v1/statuses",
                headers=auth("writer"),
                json={"status": "across processes"},
            ) as r:
                assert r.status == 200, await r.text()
                posted = (await r.json())["id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                message = await ws.receive(timeout=deadline - time.monotonic())
                if message.type is not aiohttp.WSMsgType.TEXT:
                    raise AssertionError(f"stream ended: {message}\n{cluster.logs()}")
                event = json.loads(message.data)
                if event.get("event") == "update" and json.loads(event["payload"])["id"] == posted:
                    assert "user" in event["stream"]
                    return
            raise AssertionError(f"no update for {posted} on web 1\n{cluster.logs()}")


async def test_killing_a_worker_mid_job_loses_nothing(cluster: Cluster) -> None:
    first, count = 100_000, 40
    await _enqueue(cluster.dsn, "mp.slow", [{"n": first + i, "sleep": 0.5} for i in range(count)])
    victim = cluster.workers[0]
    marker = f":{victim.pid}:"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        held = await _pg(
            cluster.dsn,
            "SELECT count(*) FROM jobs WHERE kind = 'mp.slow' AND state = 'running' AND locked_by LIKE $1",
            f"%{marker}%",
        )
        if int(str(held[0][0])) > 0:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"worker {victim.pid} never took a slow job\n{cluster.logs()}")
    victim.kill()  # SIGKILL: no shutdown, no hand-back; only the leases can save its jobs
    victim.wait(10)

    await _wait_done(cluster, "mp.slow", count, timeout=120)
    runs = await _runs(cluster, first, first + count - 1)
    assert sorted(runs) == list(range(first, first + count))
    assert all(len(r) == 1 for r in runs.values()), {n: r for n, r in runs.items() if len(r) != 1}
    survivor = cluster.workers[1].pid
    taken_over = [r[0] for r in runs.values() if r[0][1] > 1]
    assert taken_over, "the killed worker's jobs should have been run again by the survivor"
    assert all(pid == survivor for pid, _ in taken_over)
