"""Processes the benchmark starts: each one is recorded by pid and stopped by pid, never by name.

The server under test is pinned to core 0 and the load generator (and this process) to core 1,
so that the two do not compete for one core; `taskset` does the pinning when it exists.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent
SERVER_CORE = 0
CLIENT_CORE = 1

_started: list[subprocess.Popen[bytes]] = []


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pinned(argv: Sequence[str], core: int | None) -> list[str]:
    """`argv` run on one core, when the machine has a second one to leave to the other side."""
    if core is None or cores() < 2 or shutil.which("taskset") is None:
        return list(argv)
    return ["taskset", "-c", str(core), *argv]


def pin_self(core: int = CLIENT_CORE) -> None:
    if cores() >= 2 and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {core})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    core: int | None = SERVER_CORE,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so its children can be stopped with it)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (kept open with the process)
    proc = subprocess.Popen(
        pinned(argv, core),
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        start_new_session=True,
        cwd=ROOT,
    )
    _started.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to the process group this benchmark created, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def stop_all() -> None:
    while _started:
        stop(_started.pop())


atexit.register(stop_all)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def tree_rss_mb(pid: int) -> float:
    """The process and its descendants (a `taskset` wrapper execs, so usually just one)."""
    total = rss_mb(pid)
    for child in _children(pid):
        total += tree_rss_mb(child)
    return total


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []
