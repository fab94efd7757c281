"""The soak (`make soak`, not in CI): one `kinfolk serve` under mixed load for SOAK_MINUTES.

Readers (home, public, account and notification pages, single statuses), posters (plain posts,
replies, posts with an uploaded picture), followers following and unfollowing, and streaming
clients on the user stream, all on 127.0.0.1 and paced below Mastodon's rate limits (spread
over 40 accounts). Every `--sample` seconds the server process's resident memory is read from
/proc. At the end the load stops and the job queue must drain.

It passes when: no request failed (anything but the expected status, a transport error, a
stream that ended), memory after the warm-up grew less than 10% (the median of the last minute
against the median of the first minute after warm-up), and no job is left queued, running or
dead. `python -m bench.soak --minutes 5` prints the figures for docs/reliability.md and exits 1
when a criterion fails.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
KINFOLK = str(Path(sys.executable).parent / "kinfolk")
PG_ADMIN_URL = os.environ.get("KINFOLK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ACCOUNTS = 40
MAX_GROWTH = 0.10
# The status documents cache (api/entities/status_documents.py) keeps up to 50,000 rendered
# statuses by design: at the soak's 3-4 posts a second it fills for hours, and its filling is
# growth a 30-minute run cannot tell from a leak. By default the soak caps it at this many
# entries, so what it measures is what is not bounded by design; --full-caches keeps the real
# limits.
SOAK_CACHE_ENTRIES = 200
_SERVE_WITH_SMALL_CACHES = f"""
import sys
from kinfolk.api.entities import status_documents as d
d.MAX_STATUSES = d.MAX_ACCOUNTS = d.MAX_POLLS = {SOAK_CACHE_ENTRIES}
import os
if os.environ.get("SOAK_TRACEMALLOC"):
    import threading, time, tracemalloc
    tracemalloc.start(8)
    def dump():
        time.sleep(60)
        first = tracemalloc.take_snapshot()
        while True:
            time.sleep(60)
            now = tracemalloc.take_snapshot()
            with open(os.environ["SOAK_TRACEMALLOC"], "a") as out:
                size = sum(s.size for s in now.statistics("filename"))
                print(f"=== traced {{size / 2**20:.1f}} MB", file=out)
                for stat in now.compare_to(first, "traceback")[:12]:
                    print(stat, file=out)
                    for line in stat.traceback.format()[-8:]:
                        print("    " + line, file=out)
    threading.Thread(target=dump, daemon=True).start()
from kinfolk.cli import main
sys.exit(main(["serve"]))
"""


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    stream_events: int = 0
    stream_connects: int = 0
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)

    def error(self, what: str, detail: str) -> None:
        self.errors[what] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{what}: {detail[:300]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _png(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((320, 240), 40 + seed % 40).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


async def _seed(url: str, data_dir: Path) -> list[tuple[int, str]]:
    from kinfolk.config import Settings
    from kinfolk.container import Container
    from kinfolk.domain.accounts.service import NewAccount, create_local_account
    from kinfolk.domain.oauth.service import create_application, issue_token

    settings = Settings(database_url=url, domain="kinfolk.test", data_dir=data_dir, secret_key="soak")
    container = Container.build(settings, pool_size=1)
    out: list[tuple[int, str]] = []
    try:
        async with container.db.uow() as uow:
            app = await create_application(uow.session, name="soak", scopes="read write follow")
            for i in range(ACCOUNTS):
                account, user = await create_local_account(
                    uow.session,
                    NewAccount(
                        username=f"soak{i}", email=f"soak{i}@example.com", password="correct horse battery"
                    ),
                    uris=container.uris,
                )
                issued = await issue_token(
                    uow.session, application=app, user=user, scopes=["read", "write", "follow"]
                )
                out.append((account.id, issued.access_token))
    finally:
        await container.close()
    return out


async def _jobs(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from kinfolk.db.database import Database
    from kinfolk.kernel.clock import utcnow

    db = Database(url if url.startswith("sqlite") else f"{url}?pool=null", pool_size=1)
    try:
        async with db.uow(write=False) as uow:
            rows = (
                await uow.session.execute(
                    text(
                        "SELECT state, count(*) FROM jobs WHERE state IN ('running', 'dead') "
                        "OR (state = 'queued' AND run_at <= :now) GROUP BY state"
                    ),
                    {"now": utcnow()},
                )
            ).all()
        return {str(s): int(n) for s, n in rows}
    finally:
        await db.dispose()


class Soak:
    def __init__(self, base: str, accounts: list[tuple[int, str]], deadline: float, stats: Stats) -> None:
        self.base = base
        self.accounts = accounts
        self.deadline = deadline
        self.stats = stats
        self.status_ids: list[str] = []
        self.rng = random.Random(7)

    def _headers(self, i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.accounts[i][1]}"}

    def _running(self) -> bool:
        return time.monotonic() < self.deadline

    async def _call(
        self,
        http: aiohttp.ClientSession,
        kind: str,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        **kw: Any,
    ) -> Any:
        self.stats.requests[kind] += 1
        try:
            async with http.request(
                method, self.base + path, timeout=aiohttp.ClientTimeout(total=30), **kw
            ) as r:
                body = await r.read()
                if r.status not in ok:
                    self.stats.error(kind, f"{r.status} {body[:200]!r}")
                    return None
                return json.loads(body) if body else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.error(kind, repr(exc))
            return None

    async def reader(self, n: int) -> None:
        async with aiohttp.ClientSession() as http:
            while self._running():
                i = self.rng.randrange(ACCOUNTS)
                choice = self.rng.random()
                if choice < 0.4:
                    await self._call(http, "home", "GET", "/api/v1/timelines/home", headers=self._headers(i))
                elif choice < 0.55:
                    await self._call(http, "public", "GET", "/api/v1/timelines/public?local=true")
                elif choice < 0.7:
                    other = self.accounts[self.rng.randrange(ACCOUNTS)][0]
                    await self._call(
                        http, "account", "GET", f"/api/v1/accounts/{other}/statuses", headers=self._headers(i)
                    )
                elif choice < 0.85:
                    await self._call(
                        http, "notifications", "GET", "/api/v1/notifications", headers=self._headers(i)
                    )
                elif self.status_ids:
                    sid = self.rng.choice(self.status_ids[-500:])
                    await self._call(
                        http,
                        "status",
                        "GET",
                        f"/api/v1/statuses/{sid}",
                        headers=self._headers(i),
                        ok=(200, 404),
                    )
                await asyncio.sleep(0.02)

    async def poster(self, n: int, interval: float) -> None:
        serial = 0
        async with aiohttp.ClientSession() as http:
            while self._running():
                serial += 1
                i = self.rng.randrange(ACCOUNTS)
                body: dict[str, Any] = {
                    "status": f"soak {n}-{serial} #soak @soak{self.rng.randrange(ACCOUNTS)}"
                }
                if self.status_ids and self.rng.random() < 0.3:
                    body["in_reply_to_id"] = self.rng.choice(self.status_ids[-200:])
                posted = await self._call(
                    http, "post", "POST", "/api/v1/statuses", headers=self._headers(i), json=body
                )
                if posted:
                    self.status_ids.append(posted["id"])
                    if len(self.status_ids) > 5000:
                        del self.status_ids[:1000]
                await asyncio.sleep(interval)

    async def media(self, interval: float) -> None:
        images = [_png(k) for k in range(8)]
        async with aiohttp.ClientSession() as http:
            k = 0
            while self._running():
                k += 1
                i = self.rng.randrange(ACCOUNTS)
                form = aiohttp.FormData()
                form.add_field("file", images[k % len(images)], filename="soak.png", content_type="image/png")
                form.add_field("description", f"soak picture {k}")
                uploaded = await self._call(
                    http, "media", "POST", "/api/v2/media", headers=self._headers(i), data=form
                )
                if uploaded:
                    posted = await self._call(
                        http,
                        "post_media",
                        "POST",
                        "/api/v1/statuses",
                        headers=self._headers(i),
                        json={"status": f"picture {k}", "media_ids": [uploaded["id"]]},
                    )
                    if posted:
                        self.status_ids.append(posted["id"])
                await asyncio.sleep(interval)

    async def follower(self, interval: float) -> None:
        async with aiohttp.ClientSession() as http:
            while self._running():
                a, b = self.rng.sample(range(ACCOUNTS), 2)
                action = "follow" if self.rng.random() < 0.7 else "unfollow"
                target = self.accounts[b][0]
                await self._call(
                    http, action, "POST", f"/api/v1/accounts/{target}/{action}", headers=self._headers(a)
                )
                await asyncio.sleep(interval)

    async def streamer(self, n: int) -> None:
        url = self.base.replace("http://", "ws://") + "/api/v1/streaming?stream=user"
        async with aiohttp.ClientSession() as http:
            while self._running():
                try:
                    async with http.ws_connect(url, headers=self._headers(n), heartbeat=20) as ws:
                        self.stats.stream_connects += 1
                        while self._running():
                            try:
                                message = await ws.receive(timeout=1.0)
                            except TimeoutError:
                                continue
                            if message.type is aiohttp.WSMsgType.TEXT:
                                self.stats.stream_events += 1
                            else:
                                self.stats.error("stream", f"ended: {message.type}")
                                break
                except (aiohttp.ClientError, OSError) as exc:
                    self.stats.error("stream", repr(exc))
                    await asyncio.sleep(1)


async def _sample(pid: int, started: float, stats: Stats, deadline: float, every: float) -> None:
    while time.monotonic() < deadline:
        stats.rss.append((time.monotonic() - started, _rss_mb(pid)))
        await asyncio.sleep(every)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"kinfolk serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/v1/instance", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("kinfolk serve did not start")


def _database(kind: str, data_dir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'kinfolk.sqlite3'}", None
    import asyncpg

    name = f"kinfolk_soak_{secrets.token_hex(3)}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://"), name


def _drop(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--full-caches", action="store_true", help="keep the document cache's real limits")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="kinfolk-soak-"))
    data = tmp / "data"
    data.mkdir()
    url, pg_name = _database(args.database, data)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINFOLK_")} | {
        "KINFOLK_DATABASE_URL": url,
        "KINFOLK_DATA_DIR": str(data),
        "KINFOLK_SECRET_KEY": "soak-secret",
        "KINFOLK_DOMAIN": "kinfolk.test",
        "KINFOLK_PROTOCOL": "https",
        "KINFOLK_CONFIG": str(tmp / "none.toml"),
        "KINFOLK_PORT": str(port),
        # Reached as 127.0.0.1 (the host check). Its many clients share that one address, so it
        # is exempt from the per-address throttles (as Mastodon's loopback safelist); the
        # per-account limits stay on and the load is paced under them.
        "KINFOLK_ALTERNATE_DOMAINS": "127.0.0.1",
        "KINFOLK_RATE_LIMIT_EXEMPT": "127.0.0.1/32",
    }
    log = (tmp / "serve.log").open("wb")
    command = [KINFOLK, "serve"] if args.full_caches else [sys.executable, "-c", _SERVE_WITH_SMALL_CACHES]
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        result = asyncio.run(_run(base, url, data, proc.pid, args))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if pg_name:
            _drop(pg_name)
    result["server_exit_code"] = proc.returncode
    result["server_log"] = str(tmp / "serve.log")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["passed"] and proc.returncode == 0 else 1


async def _run(base: str, url: str, data: Path, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    accounts = await _seed(url, data)
    stats = Stats()
    seconds = args.minutes * 60
    warm_up = min(300.0, max(60.0, seconds * 0.15))
    started = time.monotonic()
    deadline = started + seconds
    soak = Soak(base, accounts, deadline, stats)
    tasks = [asyncio.create_task(soak.reader(n)) for n in range(4)]
    tasks += [asyncio.create_task(soak.poster(n, 0.5)) for n in range(2)]
    tasks += [asyncio.create_task(soak.media(3.0)), asyncio.create_task(soak.follower(1.0))]
    tasks += [asyncio.create_task(soak.streamer(n)) for n in range(4)]
    tasks.append(asyncio.create_task(_sample(pid, started, stats, deadline, args.sample)))
    await asyncio.gather(*tasks)

    drain_started = time.monotonic()
    jobs: dict[str, int] = {}
    while time.monotonic() - drain_started < 180:
        jobs = await _jobs(url)
        if not jobs.get("queued") and not jobs.get("running"):
            break
        await asyncio.sleep(1)
    drained_in = time.monotonic() - drain_started

    after = [mb for t, mb in stats.rss if t >= warm_up]
    window = max(1, int(60 / args.sample))
    first = statistics.median(after[:window]) if after else 0.0
    last = statistics.median(after[-window:]) if after else 0.0
    growth = (last - first) / first if first else 0.0
    total_errors = sum(stats.errors.values())
    drained = not jobs.get("queued") and not jobs.get("running")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "database": args.database,
        "minutes": args.minutes,
        "warm_up_seconds": warm_up,
        "requests": dict(stats.requests),
        "requests_total": sum(stats.requests.values()),
        "errors": dict(stats.errors),
        "errors_total": total_errors,
        "error_samples": stats.error_samples,
        "stream_connections": stats.stream_connects,
        "stream_events": stats.stream_events,
        "rss_mb": {
            "start": round(stats.rss[0][1], 1) if stats.rss else None,
            "after_warm_up": round(first, 1),
            "end": round(last, 1),
            "max": round(max(mb for _, mb in stats.rss), 1) if stats.rss else None,
            "samples": len(stats.rss),
        },
        "document_cache_entries": "real limits" if args.full_caches else SOAK_CACHE_ENTRIES,
        "rss_series_mb": [(round(t), round(mb, 1)) for t, mb in stats.rss],
        "memory_growth_after_warm_up": round(growth, 4),
        "jobs_left": jobs,
        "queue_drained_in_seconds": round(drained_in, 1),
        "passed": total_errors == 0 and growth < MAX_GROWTH and drained and not jobs.get("dead"),
    }


if __name__ == "__main__":
    sys.exit(main())
