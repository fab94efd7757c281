"""Several real Kinfolk servers on one machine, each under a domain name of its own.

Every server is a `kinfolk serve` process on its own loopback port, with its own data directory
and database, and believes it is `http://<name>.test:<port>`. Names resolve without DNS:
`KINFOLK_HOSTS=alpha.test=127.0.0.1,...` (read by `infra/outbound.py`) sends server-to-server
requests to the loopback address, and `KINFOLK_ALTERNATE_DOMAINS=127.0.0.1:<port>` lets the test
process talk to each server as `http://127.0.0.1:<port>` (what `Server.url` gives). The port is
part of the domain, so actor ids and acct names carry it (`alice@alpha.test:41234`).

The servers of a `Federation` start in parallel (the cost of one startup, not N), from a
database migrated once per session: a copied SQLite file, or a PostgreSQL database cloned from a
migrated template. A server can be stopped and started again, or killed with SIGKILL, keeping
its data. Logs go to one file per server, and `conftest.py` prints them for a failed test.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from mastodon import Mastodon

ROOT = Path(__file__).resolve().parents[2]
KINFOLK = str(Path(sys.executable).parent / "kinfolk")
PASSWORD = "correct horse battery staple"
SCOPES = "read write follow push"
T = TypeVar("T")

# Federations alive in this process, for the log dump of a failed test (conftest.py), and
# killed at exit should pytest itself stop without running the fixtures' teardown.
LIVE: list[Federation] = []


@atexit.register
def _kill_leftovers() -> None:
    for federation in list(LIVE):
        federation.close()


class _Ports:
    """Free loopback ports, held open until handed out so that no two servers get the same one."""

    def __init__(self) -> None:
        self._held: dict[int, socket.socket] = {}

    def take(self) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        self._held[port] = sock
        return port

    def release(self, port: int) -> None:
        """Just before the server binds it: a small window that `Server.start` retries around."""
        sock = self._held.pop(port, None)
        if sock is not None:
            sock.close()


def hosts_setting(names: Iterable[str]) -> str:
    """`KINFOLK_HOSTS`: every name of the federation (and peers) resolved to the loopback."""
    return ",".join(f"{name}=127.0.0.1" for name in sorted(set(names)))


@dataclass
class User:
    """A local account with a token, and a Mastodon.py client speaking to its own server."""

    server: Server
    username: str
    token: str
    api: Mastodon

    @property
    def acct(self) -> str:
        """How another server names this account: `alice@alpha.test:41234`."""
        return f"{self.username}@{self.server.domain}"

    @property
    def handle(self) -> str:
        return f"@{self.acct}"


@dataclass
class Server:
    """One `kinfolk serve` process; its port, data and database survive a stop or a kill."""

    name: str  # "alpha": the domain is alpha.test:<port>
    tmp: Path
    database_url: str
    hosts: str
    extra_env: dict[str, str]
    ports: _Ports
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    users: dict[str, User] = field(default_factory=dict)
    _app: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        return f"{self.name}.test"

    @property
    def domain(self) -> str:
        """`KINFOLK_DOMAIN`: what this server calls itself, port included."""
        return f"{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """The server's public origin, as other servers (and its own ids) name it."""
        return f"http://{self.domain}"

    @property
    def url(self) -> str:
        """Where the test process reaches it without DNS."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.tmp / f"{self.name}.log"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KINFOLK_", "PYTEST_"))}
        env.update(
            KINFOLK_CONFIG=str(self.tmp / "no-config.toml"),
            KINFOLK_DATABASE_URL=self.database_url,
            KINFOLK_DATA_DIR=str(self.tmp / "data"),
            KINFOLK_SECRET_KEY=f"federation-test-{self.name}",
            KINFOLK_DOMAIN=self.domain,
            KINFOLK_PROTOCOL="http",
            KINFOLK_HOST="127.0.0.1",
            KINFOLK_PORT=str(self.port),
            KINFOLK_ALTERNATE_DOMAINS=f"127.0.0.1:{self.port}",
            KINFOLK_ALLOWED_PRIVATE_ADDRESSES="127.0.0.1/32",
            KINFOLK_HOSTS=self.hosts,
            KINFOLK_RATE_LIMITS="false",
            KINFOLK_REGISTRATIONS="open",
            # Two cores shared by many processes: the worker thread need not yield to the web.
            KINFOLK_SERVE_WORKER_NICE="0",
            KINFOLK_SHUTDOWN_TIMEOUT="5",
            PYTHONPATH=os.pathsep.join(
                filter(None, [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        )
        env.update(self.extra_env)
        return env

    # -- the process ---------------------------------------------------------------------------

    def spawn(self) -> None:
        """Start the process without waiting for it (`wait_ready` waits)."""
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self.starts += 1
        (self.tmp / "data").mkdir(parents=True, exist_ok=True)
        self.ports.release(self.port)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts} as {self.origin} (url {self.url})\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [KINFOLK, "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
                start_new_session=True,  # its own process group: killed whole, never our pytest
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until /health answers 200; fails with the log if the process dies first."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerExited(self, self.proc.returncode)
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer /health in {timeout:.0f} s\n{self.logs()}")

    def start(self, timeout: float = 60.0) -> None:
        """Start (again, after `stop` or `kill`) with the same port, data and database."""
        self.spawn()
        self.wait_ready(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, as an operator would: requests and running jobs finish first."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL to the whole process group: a crash in the middle of whatever it was doing."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)
        self.proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def logs(self, tail: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} ({self.origin}) log, last {tail} characters\n{text[-tail:]}"

    # -- operator commands and users -----------------------------------------------------------

    def cli(self, *args: str, input_text: str | None = None) -> str:
        """`kinfolk ARGS` against this server's database and settings; its stdout."""
        done = subprocess.run(
            [KINFOLK, *args],
            env=self.env,
            cwd=self.tmp,
            input=input_text.encode() if input_text is not None else None,
            capture_output=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"kinfolk {' '.join(args)} on {self.name} exited {done.returncode}:\n"
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
            )
        return done.stdout.decode()

    def create_user(self, username: str, *, locked: bool = False, scopes: str = SCOPES) -> User:
        """An account signed up through the client API, as an app would (`POST /api/v1/accounts`
        with an app's client-credentials token), with a Mastodon.py client on `url`.

        Not `kinfolk accounts create` + `kinfolk tokens create`: each of those is a Python start
        (about 3 s of CPU, far more on a loaded CI machine), the API costs milliseconds."""
        if self._app is None:
            self._app = Mastodon.create_app(
                "federation-tests", scopes=scopes.split(), api_base_url=self.url, request_timeout=30
            )
        client_id, client_secret = self._app
        signup = Mastodon(
            client_id=client_id,
            client_secret=client_secret,
            api_base_url=self.url,
            version_check_mode="none",
            request_timeout=30,
        )
        token = signup.create_account(
            username, PASSWORD, f"{username}@{self.host}", agreement=True, locale="en", scopes=scopes.split()
        )
        user = User(self, username, token, self.client(token))
        if locked:
            user.api.account_update_credentials(locked=True)
        self.users[username] = user
        return user

    def client(self, token: str | None = None) -> Mastodon:
        """A Mastodon.py client for this server (anonymous without a token)."""
        return Mastodon(
            access_token=token,
            api_base_url=self.url,
            version_check_mode="none",
            request_timeout=30,
        )


class ServerExited(AssertionError):
    def __init__(self, server: Server, code: int | None) -> None:
        self.server = server
        self.code = code
        super().__init__(f"{server.name} exited with {code} before answering\n{server.logs()}")

    @property
    def port_taken(self) -> bool:
        text = self.server.log_path.read_text(errors="replace") if self.server.log_path.exists() else ""
        return "address already in use" in text.lower().split(f"=== start {self.server.starts}", 1)[-1]


class Federation:
    """A set of servers by name (`fed["alpha"]`), started together and stopped together."""

    def __init__(
        self,
        tmp: Path,
        names: list[str],
        databases: Callable[[str], str],
        *,
        peers: Iterable[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.ports = _Ports()
        hosts = hosts_setting([*(f"{n}.test" for n in names), *peers])
        self.servers: dict[str, Server] = {}
        for name in names:
            server_tmp = tmp / name
            server_tmp.mkdir(parents=True, exist_ok=True)
            server = Server(name, server_tmp, databases(name), hosts, dict(env or {}), self.ports)
            server.port = self.ports.take()
            self.servers[name] = server
        self.startup_seconds = 0.0

    def __getitem__(self, name: str) -> Server:
        return self.servers[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.servers.values())

    def start(self, timeout: float = 90.0) -> float:
        """Start every server at once, wait for all; the seconds it took."""
        began = time.monotonic()
        LIVE.append(self)
        for server in self:
            server.spawn()
        for server in self:
            self._wait_retrying_port(server, timeout)
        self.startup_seconds = time.monotonic() - began
        return self.startup_seconds

    def _wait_retrying_port(self, server: Server, timeout: float) -> None:
        for _attempt in range(3):
            try:
                server.wait_ready(timeout)
                return
            except ServerExited as exc:
                if not exc.port_taken:
                    raise
                # Another process took the port between our release and its bind: a new port
                # (and so a new domain; nothing federated yet) and another try.
                server.port = self.ports.take()
                server.spawn()
        server.wait_ready(timeout)

    def close(self) -> None:
        """Kill every server (teardown: data is thrown away with the directory)."""
        for server in self:
            if server.running:
                server._signal(signal.SIGKILL)
        for server in self:
            if server.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.proc.wait(10)
        if self in LIVE:
            LIVE.remove(self)

    def logs(self) -> str:
        return "\n".join(server.logs() for server in self)


# -- waiting for eventual delivery ------------------------------------------------------------


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 20.0,
    *,
    interval: float = 0.2,
    what: str = "",
) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Federation is eventual: a post reaches another server when a delivery job has run. An
    exception inside the predicate (a 404 until the status exists) counts as "not yet"; on
    timeout the last value or exception is in the message, with the logs of live servers."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as exc:  # "not yet"; reported below if it never passes
            last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError(f"not true after {timeout:.0f} s: {what or predicate!r}; last: {last!r}")


# -- databases ----------------------------------------------------------------------------------


def sqlite_databases(template: Path, tmp: Path) -> Callable[[str], str]:
    """Each server a copy of a migrated SQLite file (migrating is the slow part of a start)."""

    def make(name: str) -> str:
        path = tmp / name / "data" / "kinfolk.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"

    return make


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PostgresDatabases:
    """A fresh PostgreSQL database per server, cloned from one migrated template per session."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        self.template = f"kinfolk_fedtpl_{os.getpid()}_{secrets.token_hex(3)}"
        self.made: list[str] = []

    def create_template(self) -> None:
        from kinfolk.db.migrate import upgrade

        asyncio.run(_pg_admin(self.admin_url, f'CREATE DATABASE "{self.template}"'))
        self.made.append(self.template)
        upgrade(f"{self.base}/{self.template}")

    def __call__(self, name: str) -> str:
        database = f"kinfolk_fed_{name}_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(_pg_admin(self.admin_url, f'CREATE DATABASE "{database}" TEMPLATE "{self.template}"'))
        self.made.append(database)
        return f"{self.base}/{database}"

    def drop_all(self) -> None:
        for database in reversed(self.made):
            asyncio.run(_pg_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        self.made.clear()
