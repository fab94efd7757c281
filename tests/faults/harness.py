"""Real processes for the fault tests: Kinfolk (`kinfolk serve`/`web`/`worker`), a private
PostgreSQL cluster and a private Redis server that a test may stop and start without touching
the machine's shared ones, and helpers to seed accounts and read the database directly."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import PG_ADMIN_URL, TEST_DOMAIN, unavailable

ROOT = Path(__file__).resolve().parents[2]
KINFOLK = str(Path(sys.executable).parent / "kinfolk")
DOMAIN = TEST_DOMAIN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Kinfolk:
    """One `kinfolk` process (started again after a kill with the same environment)."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str, name: str = "kinfolk") -> None:
        self.tmp = tmp
        self.env = env
        self.args = args
        self.name = name
        self.port = int(env["KINFOLK_PORT"])
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.tmp / f"{self.name}.log"

    def start(self, *, wait: bool = True) -> subprocess.Popen[bytes]:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [KINFOLK, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp
            )
        if wait and "worker" not in self.args:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/instance", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"{self.name} did not answer in {timeout:.0f} s\n{self.logs()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def logs(self, tail: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} log\n{text[-tail:]}"


def kinfolk_env(tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINFOLK_")}
    env.update(
        KINFOLK_DATABASE_URL=database_url,
        KINFOLK_DATA_DIR=str(tmp / "data"),
        KINFOLK_SECRET_KEY="faults-test-secret",
        KINFOLK_DOMAIN=DOMAIN,
        KINFOLK_PROTOCOL="https",
        KINFOLK_CONFIG=str(tmp / "no-such-config.toml"),
        KINFOLK_HOST="127.0.0.1",
        KINFOLK_PORT=str(free_port()),
        # The processes are reached as 127.0.0.1 (the host check), and the load the tests make
        # from there is not throttled per request (the per-account limits still apply).
        KINFOLK_ALTERNATE_DOMAINS="127.0.0.1",
        KINFOLK_RATE_LIMIT_EXEMPT="127.0.0.1/32",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


# -- the database, read directly ---------------------------------------------------------------


async def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of `sql` on the database at `url` (SQLAlchemy URL), on a connection of its own."""
    from sqlalchemy import text

    from kinfolk.db.database import Database

    db = Database(url if url.startswith("sqlite") else f"{url}?pool=null", pool_size=1)
    try:
        async with db.uow(write=False) as uow:
            return [tuple(r) for r in (await uow.session.execute(text(sql), params)).all()]
    finally:
        await db.dispose()


@dataclass
class Account:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def seed_accounts(url: str, data_dir: Path, names: list[str]) -> dict[str, Account]:
    """Accounts with read/write/follow tokens, written straight to the database."""
    from kinfolk.config import Settings
    from kinfolk.container import Container
    from kinfolk.domain.accounts.service import NewAccount, create_local_account
    from kinfolk.domain.oauth.service import create_application, issue_token

    settings = Settings(database_url=url, domain=DOMAIN, data_dir=data_dir, secret_key="x")
    container = Container.build(settings, pool_size=1)
    out: dict[str, Account] = {}
    try:
        async with container.db.uow() as uow:
            app = await create_application(uow.session, name="faults", scopes="read write follow")
            for name in names:
                account, user = await create_local_account(
                    uow.session,
                    NewAccount(username=name, email=f"{name}@example.com", password="correct horse battery"),
                    uris=container.uris,
                )
                issued = await issue_token(
                    uow.session, application=app, user=user, scopes=["read", "write", "follow"]
                )
                out[name] = Account(account.id, issued.access_token)
    finally:
        await container.close()
    return out


async def wait_jobs_drained(url: str, timeout: float, logs: str = "") -> None:
    """Until no job is queued or running (due now); fails on a dead job."""
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    while time.monotonic() < deadline:
        rows = await query(url, "SELECT state, count(*) FROM jobs GROUP BY state")
        states = {str(s): int(n) for s, n in rows}
        dead = await query(url, "SELECT kind, last_error FROM jobs WHERE state = 'dead'")
        assert not dead, f"jobs died: {dead}\n{logs}"
        if states.get("queued", 0) == 0 and states.get("running", 0) == 0:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"jobs not drained after {timeout:.0f} s: {states}\n{logs}")


# -- a PostgreSQL database on the shared server, for one test -----------------------------------


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def shared_pg_database() -> Iterator[str]:
    name = f"kinfolk_faults_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- a private PostgreSQL cluster that a test may restart ---------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """`initdb` in a temporary directory, served on a free port: restarting it disturbs no one.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user."""

    def __init__(self, base: Path) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            unavailable("PostgreSQL server binaries", "no /usr/lib/postgresql/*/bin/initdb")
        assert bin_dir is not None
        self.bin = bin_dir
        self.dir = Path(f"/tmp/kinfolk-pg-{os.getpid()}-{secrets.token_hex(3)}")
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"  # pg_ctl writes it as postgres
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                unavailable("runuser (to run PostgreSQL as postgres)", "not found")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args], capture_output=True, timeout=120, cwd=self.dir
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{tool} failed: {done.stderr.decode(errors='replace')}")
        return done

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-D", str(self.data), "-m", mode, check=False)

    def create_database(self, name: str) -> None:
        async def go() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(go())

    def logs(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- postgres log\n{text[-3000:]}"

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# -- a private Redis ----------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self, base: Path) -> None:
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            unavailable("redis-server", "not on PATH")
        self.port = free_port()
        self.log = base / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.exe is not None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.exe,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
