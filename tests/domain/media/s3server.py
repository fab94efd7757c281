"""A real S3-compatible server for the storage tests: moto's server mode on 127.0.0.1.

One server per test session, started on a free port the first time a test asks for it and
stopped at exit. With KINFOLK_REQUIRE_SERVICES=1 a server that does not start fails the test
instead of skipping it. Each test gets its own bucket.
"""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

REQUIRE_SERVICES = os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1"
ACCESS_KEY = "kinfolk-test"
SECRET_KEY = "kinfolk-test-secret"
REGION = "us-east-1"

_server: dict[str, object] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop() -> None:
    proc = _server.get("proc")
    if isinstance(proc, subprocess.Popen):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def endpoint() -> str:
    """The server's URL, starting it if needed; skips (or fails) when it cannot run."""
    if "url" in _server:
        return str(_server["url"])
    if "error" in _server:
        _unavailable(str(_server["error"]))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        _server["error"] = f"could not start moto: {exc}"
        _unavailable(str(_server["error"]))
    _server["proc"] = proc
    atexit.register(_stop)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                _server["url"] = url
                return url
        except OSError:
            time.sleep(0.2)
    _server["error"] = f"moto server did not start on {url} (exit code {proc.poll()})"
    _stop()
    _unavailable(str(_server["error"]))
    raise AssertionError("unreachable")


def _unavailable(message: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"the S3 test server is required (KINFOLK_REQUIRE_SERVICES=1): {message}")
    pytest.skip(message)


def new_bucket() -> tuple[str, str]:
    """(endpoint, bucket): a fresh empty bucket on the test server."""
    import boto3

    url = endpoint()
    bucket = f"kinfolk-{secrets.token_hex(6)}"
    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=bucket)
    client.close()
    return url, bucket


def list_keys(url: str, bucket: str) -> list[str]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    try:
        response = client.list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in response.get("Contents", []))
    finally:
        client.close()
