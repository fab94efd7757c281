"""The measurements: anchors (A_min, A_fan, A_imports) and subjects (G1, G2, G5-G8).

Each function measures one thing against a running instance and returns raw numbers; the
runner (`bench.__main__`) decides how often and puts them against their anchors.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import load, procs
from bench.client import Client, status_text
from bench.instance import Instance
from bench.report import median, percentile
from bench.seed import token_for

HOME = "/api/v1/timelines/home?limit=20"
POST = "/api/v1/statuses"
FAN_ROWS = 10_000  # pairs of integers in A_fan's one transaction


@dataclass(frozen=True)
class Durations:
    """Seconds per load run, by kind; QUICK shortens every one of them."""

    anchor: float
    timeline: float
    single: float
    posting: float
    latency_posts: int
    fanout_runs: int
    p99_window: float
    mixed: float
    # uvicorn/granian alternations in the servers section
    server_rounds: int
    # repetitions of each subject (the median and spread are over these)
    runs: int = 3
    # posts per run of G2.p50_1client (one client posting sequentially)
    sequential_posts: int = 100

    @classmethod
    def for_mode(cls, quick: bool) -> Durations:
        if quick:
            return cls(
                anchor=1,
                timeline=1,
                single=1,
                posting=1,
                latency_posts=3,
                sequential_posts=20,
                fanout_runs=1,
                p99_window=1,
                mixed=2,
                server_rounds=1,
                runs=2,
            )
        return cls(
            anchor=5,
            timeline=6,
            single=4,
            posting=4,
            latency_posts=12,
            fanout_runs=3,
            p99_window=4,
            mixed=10,
            server_rounds=2,
        )


# -- anchors ----------------------------------------------------------------------------------


def a_min(
    seconds: float,
    server: str = "uvicorn",
    connections: int = 64,
    warm: bool = True,
    loop: str | None = None,
) -> load.LoadResult:
    """Requests per second of the minimal Starlette endpoint, same server and flags as Kinfolk
    (or, with `loop`, on that event loop instead of Kinfolk's)."""
    port = procs.free_port()
    argv = [sys.executable, "-m", "bench.minimal_app", str(port)]
    env = {"KINFOLK_ASGI_SERVER": server, **({"KINFOLK_EVENT_LOOP": loop} if loop else {})}
    proc = procs.start(argv, env=env, core=procs.SERVER_CORE)
    try:
        procs.wait_http(f"http://127.0.0.1:{port}/", proc)
        if warm:
            load.run(f"http://127.0.0.1:{port}", "/", seconds=1, connections=connections)
        return load.run(f"http://127.0.0.1:{port}", "/", seconds=seconds, connections=connections)
    finally:
        procs.stop(proc)


def a_imports() -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.imports_only"],
        capture_output=True,
        text=True,
        cwd=procs.ROOT,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def a_fan(instance: Instance, trials: int = 5) -> float:
    """Seconds for one transaction inserting 10,000 rows of two integers into the instance's
    database (median of `trials`), through the plain driver."""
    timings: list[float] = []
    rows = [(i, i * 7) for i in range(FAN_ROWS)]
    if instance.backend == "sqlite":
        path = instance.database_url.split(":///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_fan (a INTEGER NOT NULL, b INTEGER NOT NULL, "
                "PRIMARY KEY (a, b))"
            )
            for _ in range(trials):
                conn.execute("DELETE FROM bench_fan")
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO bench_fan (a, b) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
                timings.append(time.perf_counter() - started)
            conn.execute("DROP TABLE bench_fan")
        finally:
            conn.close()
        return median(timings)

    import asyncpg

    async def go() -> None:
        dsn = instance.database_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_fan (a bigint NOT NULL, b bigint NOT NULL, "
                "PRIMARY KEY (a, b))"
            )
            for _ in range(trials):
                await conn.execute("DELETE FROM bench_fan")
                started = time.perf_counter()
                async with conn.transaction():
                    await conn.executemany("INSERT INTO bench_fan (a, b) VALUES ($1, $2)", rows)
                timings.append(time.perf_counter() - started)
            await conn.execute("DROP TABLE bench_fan")
        finally:
            await conn.close()

    asyncio.run(go())
    return median(timings)


def a_rt(instance: Instance, trips: int = 2_000) -> float:
    """Seconds for one primary-key read through asyncpg on the instance's PostgreSQL (median of
    `trips` prepared `SELECT ... WHERE id = $1`): the floor under any statement a post runs."""
    import asyncpg

    async def go() -> float:
        dsn = instance.database_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            ids = [row[0] for row in await conn.fetch("SELECT id FROM accounts ORDER BY id LIMIT 100")]
            statement = await conn.prepare("SELECT id, username FROM accounts WHERE id = $1")
            for i in range(100):  # warm the plan and the cache
                await statement.fetchrow(ids[i % len(ids)])
            timings: list[float] = []
            for i in range(trips):
                started = time.perf_counter()
                await statement.fetchrow(ids[i % len(ids)])
                timings.append(time.perf_counter() - started)
            return median(timings)
        finally:
            await conn.close()

    return asyncio.run(go())


# -- subjects ---------------------------------------------------------------------------------


def timeline(instance: Instance, seconds: float, connections: int = 64) -> load.LoadResult:
    assert instance.seeded is not None
    result = load.run(
        instance.base_url, HOME, seconds=seconds, connections=connections, tokens=instance.seeded.tokens()
    )
    settle(instance)
    return result


def warm_timelines(instance: Instance, limit: float = 60.0) -> tuple[int, float]:
    """Read every reader's home page at least twice (64 connections, wrk rotating the tokens),
    so that the measured runs see the server's steady state: Kinfolk keeps rendered statuses in
    memory (api/entities/status_documents.py), and a page of statuses nobody read yet costs
    the full rendering once. Returns the requests made and the seconds taken."""
    assert instance.seeded is not None
    tokens = instance.seeded.tokens()
    made, started = 0, time.monotonic()
    while made < 2 * len(tokens) and time.monotonic() - started < limit:
        # Each wrk run starts at the head of its token list: hand it the list rotated to where
        # the last run stopped, or a slow machine warms the first few hundred readers only.
        start = made % len(tokens)
        rotated = tokens[start:] + tokens[:start]
        made += load.run(instance.base_url, HOME, seconds=2, connections=64, tokens=rotated).requests
    settle(instance)
    return made, time.monotonic() - started


def posting_load(instance: Instance, seconds: float, connections: int = 16) -> load.LoadResult:
    assert instance.seeded is not None
    body = json.dumps({"status": status_text(instance.seeded.readers[0])})
    result = load.run(
        instance.base_url,
        POST,
        seconds=seconds,
        connections=connections,
        tokens=instance.seeded.tokens(),
        method="POST",
        body=body,
    )
    settle(instance)
    return result


def posting_latency(instance: Instance, posts: int) -> tuple[list[float], list[float]]:
    """Seconds per post for the 10,000-follower author and for the 0-follower author, posted
    alternately, each after the previous post's side effects finished (so both measure the
    request path alone)."""
    assert instance.seeded is not None
    client = Client(instance.base_url)
    big, quiet = "bench-big", "bench-quiet"
    timings: dict[str, list[float]] = {big: [], quiet: []}
    try:
        for i in range(posts * 2):
            token = big if i % 2 == 0 else quiet
            _, elapsed, _ = client.post_status(status_text(instance.seeded.readers[1], serial=i), token=token)
            timings[token].append(elapsed)
            instance.wait_jobs_drained(60)
    finally:
        client.close()
    return timings[big], timings[quiet]


def posting_one_client(instance: Instance, posts: int) -> list[float]:
    """Seconds per post of one client posting sequentially as an author with one follower (a
    reader follows `quiet` for the run, and stops after), each post after the previous post's
    side effects finished, so each measures the request path alone."""
    assert instance.seeded is not None
    client = Client(instance.base_url)
    follower = token_for(instance.seeded.readers[3])
    timings: list[float] = []
    try:
        status, found, _ = client.request("GET", "/api/v1/accounts/lookup?acct=quiet", token=follower)
        if status != 200:
            raise RuntimeError(f"looking up quiet failed with {status}: {found}")
        quiet_id = found["id"]
        status, body, _ = client.request("POST", f"/api/v1/accounts/{quiet_id}/follow", {}, token=follower)
        if status != 200:
            raise RuntimeError(f"following quiet failed with {status}: {body}")
        instance.wait_jobs_drained(60)
        for i in range(posts):
            _, elapsed, _ = client.post_status(
                status_text(instance.seeded.readers[1], serial=10_000 + i), token=token_for("quiet")
            )
            timings.append(elapsed)
            instance.wait_jobs_drained(60)
        client.request("POST", f"/api/v1/accounts/{quiet_id}/unfollow", {}, token=follower)
        instance.wait_jobs_drained(60)
    finally:
        client.close()
    return timings


def fanout_once(instance: Instance, client: Client, serial: int, timeout: float = 60.0) -> float:
    """Seconds from the 200 of a post by the 10,000-follower author to its last feed row."""
    assert instance.seeded is not None
    expected = instance.sizes.followers_of_big + 1
    _, _, status_id = client.post_status(
        status_text(instance.seeded.readers[2], serial=serial), token="bench-big"
    )
    answered = time.perf_counter()
    deadline = answered + timeout
    while time.perf_counter() < deadline:
        if instance.feed_rows(status_id) >= expected:
            return time.perf_counter() - answered
        time.sleep(0.002)
    raise RuntimeError(f"fan-out of {status_id} did not reach {expected} feeds in {timeout:.0f} s")


def in_background(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = target()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def _joined(thread: threading.Thread, box: dict[str, Any]) -> Any:
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def timeline_during_fanouts(
    instance: Instance, seconds: float, connections: int = 16
) -> tuple[load.LoadResult, int]:
    """Timeline load while the 10,000-follower author posts again each time a fan-out ends."""
    thread, box = in_background(lambda: timeline(instance, seconds, connections))
    client = Client(instance.base_url)
    fanouts = 0
    try:
        time.sleep(0.3)
        while thread.is_alive():
            fanout_once(instance, client, serial=10_000 + fanouts)
            fanouts += 1
    finally:
        client.close()
    return _joined(thread, box), fanouts


def mixed(instance: Instance, seconds: float) -> tuple[load.LoadResult, int, datetime]:
    """G7: G1's readers while readers post (about 5 a second) and the 10,000-follower author
    posts every 2 s. Returns the timeline result, the posts made, and when the run started."""
    assert instance.seeded is not None
    started_at = datetime.now(UTC)
    thread, box = in_background(lambda: timeline(instance, seconds))
    client = Client(instance.base_url)
    posts = 0
    readers = instance.seeded.readers
    try:
        began = time.monotonic()
        while thread.is_alive():
            elapsed = time.monotonic() - began
            token = "bench-big" if posts % 10 == 0 else f"bench-{readers[posts % len(readers)]}"
            client.post_status(status_text(readers[(posts + 3) % len(readers)], serial=posts), token=token)
            posts += 1
            pause = posts * 0.2 - (time.monotonic() - began)
            if pause > 0 and elapsed < seconds:
                time.sleep(pause)
    finally:
        client.close()
    return _joined(thread, box), posts, started_at


def job_wait_p99(instance: Instance, since: datetime) -> tuple[float, int]:
    instance.wait_jobs_drained(120)
    waits = instance.job_waits(since)
    return percentile(waits, 99), len(waits)


# The cheapest route: its latency is the server's queue. (The instance API counts users and
# posts; on a slow day that alone took 50 ms on PostgreSQL, and `settle` waited its full timeout.)
SETTLE_PROBE = "/api/v1/streaming/health"


def settle(instance: Instance, timeout: float = 60.0) -> float:
    """Wait until the server has worked off what an earlier load left queued (a closed loop
    leaves up to one request per connection behind), so that runs do not overlap."""
    client = Client(instance.base_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            _, _, elapsed = client.request("GET", SETTLE_PROBE)
            if elapsed < 0.05:
                break
    finally:
        client.close()
    return time.monotonic() - started


def rss(instance: Instance) -> float:
    return procs.tree_rss_mb(instance.server_pid)


def warm_up(instance: Instance, requests: int = 20) -> None:
    assert instance.seeded is not None
    client = Client(instance.base_url)
    try:
        for i in range(requests):
            client.request(
                "GET", HOME, token=f"bench-{instance.seeded.readers[i % len(instance.seeded.readers)]}"
            )
    finally:
        client.close()


def websocket_works(instance: Instance) -> bool:
    """The streaming WebSocket accepts a client and a subscription (granian must keep this)."""
    import aiohttp

    async def go() -> bool:
        url = f"ws://127.0.0.1:{instance.port}/api/v1/streaming?access_token=bench-big&stream=user"
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(url, timeout=10) as ws:
                await ws.send_json({"type": "subscribe", "stream": "public"})
                return not ws.closed
        except Exception:
            return False

    return asyncio.run(go())
