"""Graceful shutdown of `kinfolk serve` (real processes): SIGTERM stops accepting connections,
lets the request in flight finish, hands the job its worker thread was running back to the
queue (no lease to wait out), and exits 0 within KINFOLK_SHUTDOWN_TIMEOUT; Ctrl-C (SIGINT)
ends it quietly, without a traceback."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.faults.harness import Kinfolk, kinfolk_env, query, seed_accounts

SHUTDOWN_TIMEOUT = 3


def _open_post(port: int, token: str, body: bytes) -> socket.socket:
    """Start a POST whose body is not all sent yet: a request in flight."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        "POST /api/v1/statuses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body[:10])
    return sock


def _finish(sock: socket.socket, body: bytes) -> tuple[int, dict[str, object]]:
    sock.sendall(body[10:])
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


async def test_sigterm_finishes_the_request_in_flight_and_hands_the_running_job_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kinfolk.sqlite3'}"
    env = kinfolk_env(
        tmp_path,
        url,
        KINFOLK_SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT),
        KINFOLK_JOB_MODULES="tests.jobs.sample_handlers",
    )
    server = Kinfolk(tmp_path, env, "serve", name="serve")
    server.start()
    try:
        author = (await seed_accounts(url, tmp_path / "data", ["author"]))["author"]
        markers = tmp_path / "markers"
        markers.mkdir()
        await _enqueue_slow(url, tmp_path, markers)
        deadline = time.monotonic() + 30
        while not (markers / "attempt-1").exists():
            assert time.monotonic() < deadline, server.logs()
            await asyncio.sleep(0.05)

        body = json.dumps({"status": "posted during the shutdown"}).encode()
        in_flight = _open_post(server.port, author.token, body)
        await asyncio.sleep(0.3)
        stopped_at = time.monotonic()
        server.signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert _refused(server.port), "still accepting connections after SIGTERM"
        status, answer = await asyncio.to_thread(_finish, in_flight, body)
        assert status == 200, answer
        assert server.proc is not None
        assert await asyncio.to_thread(server.proc.wait, SHUTDOWN_TIMEOUT + 10) == 0, server.logs()
        assert time.monotonic() - stopped_at < SHUTDOWN_TIMEOUT + 5

        assert await query(url, "SELECT count(*) FROM statuses WHERE id = :i", i=int(str(answer["id"]))) == [
            (1,)
        ]
        [(state, attempts, lease, locked_by)] = await query(
            url, "SELECT state, attempts, lease_until, locked_by FROM jobs WHERE kind = 'test.slow_marker'"
        )
        assert (state, attempts, lease) == ("queued", 0, None), (state, attempts, lease, locked_by)
        assert "Traceback" not in server.logs(tail=100_000)
    finally:
        server.stop()


async def _enqueue_slow(url: str, tmp_path: Path, markers: Path) -> None:
    from kinfolk.db.database import Database
    from tests.jobs import sample_handlers  # noqa: F401  (registers the kind)

    db = Database(url, pool_size=1)
    try:
        async with db.uow() as uow:
            await uow.enqueue("test.slow_marker", {"dir": str(markers), "sleep": 120})
    finally:
        await db.dispose()


async def test_ctrl_c_ends_serve_quietly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kinfolk.sqlite3'}"
    server = Kinfolk(tmp_path, kinfolk_env(tmp_path, url), "serve", name="serve")
    server.start()
    try:
        server.signal(signal.SIGINT)
        assert server.proc is not None
        code = await asyncio.to_thread(server.proc.wait, 20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"serve did not stop on SIGINT\n{server.logs()}") from None
    finally:
        server.stop()
    assert code in (0, 130), server.logs()
    assert "Traceback" not in server.logs(tail=100_000), server.logs()
