"""One Kinfolk instance under test: its database (a SQLite file under bench/out, or a PostgreSQL
database created for this run and dropped after it), its seed, its processes, and read-only
probes into its database for what HTTP cannot see (when the last feed row landed, how long jobs
waited).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import procs
from bench.seed import Seeded, Sizes, seed
from kinfolk.db.migrate import upgrade

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Instance:
    backend: str  # "sqlite" | "postgresql"
    sizes: Sizes
    port: int = field(default_factory=procs.free_port)
    data_dir: Path = field(init=False)
    database_url: str = field(init=False)
    seeded: Seeded | None = None
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _pg_name: str | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _pg: Any = None
    _sqlite: sqlite3.Connection | None = None

    def __post_init__(self) -> None:
        self.data_dir = procs.OUT / f"{self.backend}-{os.getpid()}"
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        if self.backend == "sqlite":
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'kinfolk.sqlite3'}"
        else:
            self._pg_name = f"kinfolk_bench_{os.getpid()}_{secrets.token_hex(3)}"
            base = PG_ADMIN.rsplit("/", 1)[0]
            self.database_url = f"{base}/{self._pg_name}".replace("postgresql://", "postgresql+asyncpg://")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "KINFOLK_DATA_DIR": str(self.data_dir),
            "KINFOLK_DATABASE_URL": self.database_url,
            "KINFOLK_DOMAIN": f"127.0.0.1:{self.port}",
            "KINFOLK_PROTOCOL": "http",
            "KINFOLK_HOST": "127.0.0.1",
            "KINFOLK_PORT": str(self.port),
            "KINFOLK_SECRET_KEY": "kinfolk-bench-secret",
            "KINFOLK_REDIS_PREFIX": f"kinfolk-bench-{os.getpid()}:",
            # G1/G2 post thousands of statuses and read thousands of pages per token: Mastodon's
            # per-account limits (300 statuses in 3 h) would answer most of them with 429.
            "KINFOLK_RATE_LIMITS": "false",
            **extra,
        }

    # -- database --------------------------------------------------------------------------

    def create(self) -> Seeded:
        if self._pg_name:
            self._admin(f'CREATE DATABASE "{self._pg_name}"')
        upgrade(self.database_url)
        self.seeded = seed(self.database_url, self.base_url, self.sizes)
        return self.seeded

    def _admin(self, sql: str) -> None:
        import asyncpg

        async def go() -> None:
            conn = await asyncpg.connect(PG_ADMIN, timeout=10)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(go())

    def destroy(self) -> None:
        self.stop()
        self.close_probe()
        if self._pg_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- processes -------------------------------------------------------------------------

    def start(
        self,
        command: str = "serve",
        *,
        core: int | None = procs.SERVER_CORE,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> subprocess.Popen[bytes]:
        argv = [str(procs.VENV_BIN / "kinfolk"), command, *extra_args]
        log = self.data_dir / f"{command}.log"
        proc = procs.start(argv, env=self.env(**(env or {})), core=core, log=log)
        self.running.append(proc)
        if wait and command in ("serve", "web"):
            procs.wait_http(f"{self.base_url}/api/v1/instance", proc, timeout=90)
        return proc

    def stop(self) -> None:
        while self.running:
            procs.stop(self.running.pop())

    @property
    def server_pid(self) -> int:
        return self.running[0].pid

    # -- probes ----------------------------------------------------------------------------

    def _query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.backend == "sqlite":
            if self._sqlite is None:
                path = self.database_url.split(":///", 1)[1]
                self._sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            sqlite_sql = sql
            for i in range(len(args), 0, -1):
                sqlite_sql = sqlite_sql.replace(f"${i}", "?")
            return list(self._sqlite.execute(sqlite_sql, args).fetchall())
        import asyncpg

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            dsn = self.database_url.replace("postgresql+asyncpg://", "postgresql://")
            self._pg = self._loop.run_until_complete(asyncpg.connect(dsn))
        rows = self._loop.run_until_complete(self._pg.fetch(sql, *args))
        return [tuple(r) for r in rows]

    def feed_rows(self, status_id: int) -> int:
        return int(self._query("SELECT count(*) FROM home_feed WHERE status_id = $1", status_id)[0][0])

    def pending_jobs(self) -> int:
        return int(self._query("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")[0][0])

    def wait_jobs_drained(self, timeout: float = 120.0) -> float:
        started = time.monotonic()
        while self.pending_jobs() and time.monotonic() - started < timeout:
            time.sleep(0.1)
        return time.monotonic() - started

    def job_waits(self, since: datetime) -> list[float]:
        """Seconds from when each job was due to when it finished (an upper bound of its wait in
        the queue: it includes the run itself), for jobs due since `since`."""
        if self.backend == "sqlite":
            rows = self._query(
                "SELECT run_at, finished_at FROM jobs WHERE state = 'done' AND run_at >= $1",
                since.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
            )
            parsed = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in rows]
        else:
            parsed = [
                (a, b)
                for a, b in self._query(
                    "SELECT run_at, finished_at FROM jobs WHERE state = 'done' AND run_at >= $1", since
                )
            ]
        return [max(0.0, (b - a).total_seconds()) for a, b in parsed]

    def close_probe(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._loop is not None:
            if self._pg is not None:
                self._loop.run_until_complete(self._pg.close())
            self._loop.close()
            self._loop = None
            self._pg = None
