"""`make compat`: Mastodon.py's own test suite, run live against a freshly seeded Kinfolk.

Steps: fetch the Mastodon.py sdist matching the version in .venv, build .compat/venv with
compat/requirements.txt, make a fresh data directory and database, seed what the suite's
tests/setup.sql expects through the `kinfolk` CLI, serve on 127.0.0.1:3000 (the suite hard-codes
http://localhost:3000), run `pytest --disable-recording`, stop the server and judge the junit report
against compat/known-failures.txt. Run by .venv's Python (asyncpg is needed only for PostgreSQL).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report

ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / "compat"
WORK = ROOT / ".compat"
RUN = WORK / "run"
VENV = WORK / "venv"
MAIN_BIN = ROOT / ".venv" / "bin"
HOST, PORT = "127.0.0.1", 3000

DEFAULT_TESTS = [
    "test_status",
    "test_timeline",
    "test_account",
    "test_notifications",
    "test_search",
    "test_pagination",
    "test_lists",
    "test_filters",
    "test_bookmarks",
    "test_polls",
    "test_markers",
    "test_follow_requests",
    "test_domain_blocks",
    "test_streaming",
    "test_status_length",
    "test_errors",
    "test_instance",
    "test_auth",
    "test_create_app",
    "test_push",
]

APP_NAME = "Mastodon.py test suite"
ALL_SCOPES = "read write follow push admin:read admin:write"
USER_SCOPES = "read write follow push"
# setup.sql gives mastodonpy_test_2 and admin2 this password (as a bcrypt hash); the suite's
# password log-in tests use it, against pre-4.4 cassettes.
SUITE_PASSWORD = "5fc638e0e53eafd9c4145b6bb852667d"

# What tests/setup.sql (plus Mastodon's development seed for `admin`) leaves in the database.
SEED: list[list[str]] = [
    ["accounts", "create", "admin", "--email", "admin@localhost", "--role", "owner",
     "--password", "mastodonadmin"],
    ["accounts", "create", "admin2", "--email", "zerocool@example.com", "--role", "owner",
     "--locale", "de", "--password", SUITE_PASSWORD],
    ["accounts", "create", "mastodonpy_test", "--email", "mastodonpy_test@localhost", "--locked",
     "--locale", "ja", "--password", "mastodonpy-test-password"],
    ["accounts", "create", "mastodonpy_test_2", "--email", "mastodonpy_test_2@localhost", "--indexable",
     "--locale", "ja", "--password", SUITE_PASSWORD],
    ["apps", "create", APP_NAME, "--client-id", "__MASTODON_PY_TEST_CLIENT_ID",
     "--client-secret", "__MASTODON_PY_TEST_CLIENT_SECRET", "--scopes", ALL_SCOPES,
     "--redirect-uri", "urn:ietf:wg:oauth:2.0:oob"],
    ["tokens", "create", "mastodonpy_test", "--scopes", USER_SCOPES, "--app", APP_NAME,
     "--token", "__MASTODON_PY_TEST_ACCESS_TOKEN"],
    ["tokens", "create", "mastodonpy_test_2", "--scopes", USER_SCOPES, "--app", APP_NAME,
     "--token", "__MASTODON_PY_TEST_ACCESS_TOKEN_3"],
    ["tokens", "create", "admin", "--scopes", ALL_SCOPES, "--app", APP_NAME,
     "--token", "__MASTODON_PY_TEST_ACCESS_TOKEN_2"],
]  # fmt: skip


def log(message: str) -> None:
    print(f"compat: {message}", flush=True)


def mastodon_py_version() -> str:
    out = subprocess.run(
        [str(MAIN_BIN / "python"), "-c", "import importlib.metadata as m; print(m.version('Mastodon.py'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def fetch_suite(version: str) -> Path:
    """The unpacked sdist (with tests/ and cassettes), downloaded once per version."""
    target = WORK / f"mastodon_py-{version}"
    if (target / "tests" / "conftest.py").is_file():
        return target
    dist = WORK / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    archives = sorted(dist.glob(f"[mM]astodon[._-][pP]y-{version}.tar.gz"))
    if not archives:
        log(f"downloading the Mastodon.py {version} sdist")
        subprocess.run(
            [str(MAIN_BIN / "python"), "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", f"mastodon.py=={version}", "-d", str(dist)],
            check=True,
        )  # fmt: skip
        archives = sorted(dist.glob(f"[mM]astodon[._-][pP]y-{version}.tar.gz"))
    if not archives:
        raise SystemExit(f"compat: no sdist for Mastodon.py {version} in {dist}")
    unpack = WORK / "unpack"
    shutil.rmtree(unpack, ignore_errors=True)
    with tarfile.open(archives[0]) as tar:
        tar.extractall(unpack, filter="data")
    (inner,) = list(unpack.iterdir())
    shutil.rmtree(target, ignore_errors=True)
    inner.rename(target)
    shutil.rmtree(unpack, ignore_errors=True)
    return target


def ensure_venv() -> Path:
    """A separate venv for the suite, rebuilt when compat/requirements.txt changes."""
    requirements = (COMPAT / "requirements.txt").read_text()
    stamp = VENV / ".requirements"
    python = VENV / "bin" / "python"
    if python.exists() and stamp.is_file() and stamp.read_text() == requirements:
        return python
    log("installing the suite's test requirements into .compat/venv")
    if not python.exists():
        subprocess.run([str(MAIN_BIN / "python"), "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
         str(COMPAT / "requirements.txt")],
        check=True,
    )  # fmt: skip
    stamp.write_text(requirements)
    return python


def server_env() -> dict[str, str]:
    """The environment of every `kinfolk` call: ours, never the developer's kinfolk.toml or domain."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINFOLK_")}
    env.update(
        KINFOLK_CONFIG=str(RUN / "no-config.toml"),
        KINFOLK_DATA_DIR=str(RUN / "data"),
        KINFOLK_DOMAIN=f"localhost:{PORT}",
        KINFOLK_PROTOCOL="http",
        KINFOLK_HOST=HOST,
        KINFOLK_PORT=str(PORT),
        KINFOLK_REGISTRATIONS="open",
        # Mastodon.py's suite posts, follows and signs in far more often than one person would.
        KINFOLK_RATE_LIMITS="false",
    )
    if os.environ.get("KINFOLK_DATABASE_URL"):
        env["KINFOLK_DATABASE_URL"] = os.environ["KINFOLK_DATABASE_URL"]
    if os.environ.get("KINFOLK_REDIS_URL"):
        env["KINFOLK_REDIS_URL"] = os.environ["KINFOLK_REDIS_URL"]
        env["KINFOLK_REDIS_PREFIX"] = f"kinfolk-compat-{os.getpid()}:"
    return env


def reset_postgres(url: str) -> None:
    """Drop and re-create the database the URL names; only one whose name says it is for compat."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    parts = urlsplit(
        url.replace("postgresql+asyncpg://", "postgresql://").replace("postgres://", "postgresql://")
    )
    name = parts.path.lstrip("/")
    if "compat" not in name:
        raise SystemExit(
            f"compat: refusing to drop database {name!r}: KINFOLK_DATABASE_URL must name a database "
            "whose name contains 'compat' (it is dropped and re-created on every run)"
        )
    admin_url = parts._replace(path="/postgres").geturl()

    async def go() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(go())


def kinfolk(args: list[str], env: dict[str, str], logfile: Path) -> None:
    with logfile.open("a") as out:
        out.write(f"$ kinfolk {' '.join(args)}\n")
        out.flush()
        proc = subprocess.run([str(MAIN_BIN / "kinfolk"), *args], env=env, stdout=out, stderr=out)
    if proc.returncode != 0:
        print(logfile.read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"compat: `kinfolk {' '.join(args[:3])}` failed (see {logfile})")


def port_busy() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, PORT)) == 0


def stop_kept_server() -> None:
    """Stop the server a previous `COMPAT_KEEP=1` run left, by the pid it recorded."""
    pidfile = RUN / "server.pid"
    if not pidfile.is_file():
        return
    pid = int(pidfile.read_text().strip())
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"kinfolk" in cmdline.read_bytes():
        log(f"stopping the kept server (pid {pid})")
        stop(pid)
    pidfile.unlink(missing_ok=True)


def stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def wait_healthy(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"compat: the server exited with {proc.returncode} (see {RUN / 'server.log'})")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{PORT}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"compat: no answer from /health within {timeout:.0f}s (see {RUN / 'server.log'})")


def pytest_targets(selection: str) -> list[str]:
    """`test_instance.py test_auth` or node ids such as `test_status.py::test_reply` -> pytest args."""
    names = selection.split() or DEFAULT_TESTS
    paths = []
    for name in names:
        file, sep, rest = name.partition("::")
        file = file.removeprefix("tests/")
        if not file.endswith(".py"):
            file += ".py"
        paths.append(f"tests/{file}{sep}{rest}")
    return paths


# A helper of test_streaming.py that patches VCR's connection class; tests calling it need VCR active.
_RECORDER_HELPERS = frozenset({"patch_streaming"})


def _needs_recorder(func: ast.FunctionDef) -> bool:
    if any(arg.arg == "vcr" for arg in func.args.args):
        return True
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _RECORDER_HELPERS
        for node in ast.walk(func)
    )


def recorder_tests(suite: Path, targets: list[str]) -> list[str]:
    """The selected tests that need pytest-recording's VCR to be active.

    The live streaming tests take the `vcr` fixture (None under `--disable-recording`) or call
    `patch_streaming()`, which patches VCR's connection class to read the SSE stream and to close it:
    without VCR their streams never close. They run in a second pass with `--record-mode=all`, which
    sends every request to the server too (and records it).
    """
    found = []
    for target in targets:
        file, _, rest = target.partition("::")
        path = suite / file
        if not path.is_file():
            continue
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            if _needs_recorder(node) and rest in ("", node.name):
                found.append(f"{file}::{node.name}")
    return found


def run_pytest(python: Path, cwd: Path, args: list[str], junit: Path, log_file: Path, timeout: int) -> int:
    with log_file.open("ab") as out:
        return subprocess.run(
            [str(python), "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", f"--timeout={timeout}",
             f"--junitxml={junit}", "-rN", "--tb=short", *args],
            cwd=cwd,
            env={k: v for k, v in os.environ.items() if not k.startswith(("KINFOLK_", "PYTEST_"))},
            stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode  # fmt: skip


def scratch_suite(suite: Path) -> Path:
    """A per-run copy of the suite, so that a run never changes the pristine sdist kept for comparison.

    Its tests/cassettes/ is emptied: live runs never replay those cassettes (a recording run writes
    Kinfolk's own there, for compat/shapes.py), and its *.pkl files pin the datetimes used when they
    were recorded (`scheduled_at`, `min_id`/`max_id` as datetimes, the server-time check), where a
    live run needs "now", which the tests compute themselves when those files are absent. The other
    cassette folders stay: a few tests always replay them, whatever the mode.
    """
    scratch = RUN / "suite"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(suite, scratch)
    for recorded in (scratch / "tests" / "cassettes").iterdir():
        if recorded.is_file():
            recorded.unlink()
    return scratch


def run_suite(
    python: Path, suite: Path, selection: str, timeout: int, record: bool = False
) -> tuple[list[Path], list[int]]:
    """Both passes, in a scratch copy; returns the junit files written and pytest's exit codes.

    With `record`, the first pass records too (every request still goes to the server).
    """
    scratch = scratch_suite(suite)
    targets = pytest_targets(selection)
    recorded = recorder_tests(scratch, targets)
    plain = [t for t in targets if t not in recorded]
    pytest_log = RUN / "pytest.log"
    junits: list[Path] = []
    codes: list[int] = []
    if plain:
        junit = RUN / "junit.xml"
        deselect = [arg for test in recorded for arg in ("--deselect", test)]
        plain_args = ["--record-mode=all" if record else "--disable-recording", *deselect, *plain]
        codes.append(run_pytest(python, scratch, plain_args, junit, pytest_log, timeout))
        junits.append(junit)
    if recorded:
        junit = RUN / "junit-recorded.xml"
        recorded_args = ["--record-mode=all", *recorded]
        codes.append(run_pytest(python, scratch, recorded_args, junit, pytest_log, timeout))
        junits.append(junit)
    return junits, codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default=os.environ.get("COMPAT_TESTS", ""), help="files or node ids")
    keep = os.environ.get("COMPAT_KEEP", "") not in ("", "0")
    parser.add_argument("--keep", action="store_true", default=keep, help="leave the server running")
    record = os.environ.get("COMPAT_RECORD", "") not in ("", "0")
    parser.add_argument("--record", action="store_true", default=record, help="record for compat/shapes.py")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test")
    parser.add_argument("--stop", action="store_true", help="only stop a server kept by --keep")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    with run_lock():
        return run(args)


@contextlib.contextmanager
def run_lock(wait_seconds: float = 1800) -> Iterator[None]:
    """One run at a time per checkout: runs share .compat/run/ and port 3000 (several developers
    work in the same checkout). A second run waits for the first instead of wiping it."""
    with (WORK / "lock").open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SystemExit("compat: another `make compat` run still holds .compat/lock") from None
                if not told:
                    log("waiting for another `make compat` run in this checkout to finish")
                    told = True
                time.sleep(min(2.0, max(0.05, deadline - time.monotonic())))
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(args: argparse.Namespace) -> int:
    stop_kept_server()
    if args.stop:
        return 0
    if port_busy():
        raise SystemExit(f"compat: something already listens on {HOST}:{PORT}; the suite needs that port")

    version = mastodon_py_version()
    suite = fetch_suite(version)
    python = ensure_venv()

    shutil.rmtree(RUN, ignore_errors=True)
    (RUN / "data").mkdir(parents=True)
    env = server_env()
    database = env.get("KINFOLK_DATABASE_URL", "")
    if database:
        reset_postgres(database)
    log(f"seeding a fresh {'PostgreSQL' if database else 'SQLite'} database through the kinfolk CLI")
    seed_log = RUN / "seed.log"
    kinfolk(["migrate"], env, seed_log)
    for command in SEED:
        kinfolk(command, env, seed_log)

    server_log = (RUN / "server.log").open("wb")
    server = subprocess.Popen(
        [str(MAIN_BIN / "kinfolk"), "serve", "--host", HOST, "--port", str(PORT)],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (RUN / "server.pid").write_text(str(server.pid))
    try:
        wait_healthy(server)
        log(f"Kinfolk serves http://localhost:{PORT} (pid {server.pid}); running Mastodon.py {version}")
        log(f"pytest output (with each request and response of a failing test) goes to {RUN / 'pytest.log'}")
        junits, codes = run_suite(python, suite, args.tests, args.timeout, record=args.record)
    finally:
        if args.keep:
            log(f"server kept running (pid {server.pid}, data in {RUN}); stop it with `compat/run.py --stop`")
        else:
            stop(server.pid)
            (RUN / "server.pid").unlink(missing_ok=True)
        server_log.close()

    missing = [j for j in junits if not j.is_file()]
    if missing or not junits:
        log(f"pytest wrote no report (exit codes {codes})")
        return 1
    known = report.load_known_failures(COMPAT / "known-failures.txt")
    results = [r for junit in junits for r in report.parse_junit(junit)]
    verdict = report.judge(results, known)
    print()
    print(report.render(verdict, known))
    print(f"\npytest output: {RUN / 'pytest.log'}\nreports: {' '.join(map(str, junits))}")
    print(f"server log: {RUN / 'server.log'}")
    if args.record:
        print("Kinfolk's responses are recorded: `.venv/bin/python compat/shapes.py` compares them")
    if any(code not in (0, 1, 5) for code in codes):
        log(f"pytest exited with {codes}")
        return 1
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
