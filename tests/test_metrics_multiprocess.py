"""`kinfolk web --workers 2` with PROMETHEUS_MULTIPROC_DIR: whichever process answers the scrape,
it reports the requests both processes served (docs/operations.md, "Metrics")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "multiprocess-scrape-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _instance_requests(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "kinfolk_http_requests_total"
                and sample.labels.get("route") == "/api/v1/instance"
                and sample.labels.get("status") == "200"
            ):
                return float(sample.value)
    return 0.0


def test_web_processes_share_their_counts(tmp_path: Path) -> None:
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "KINFOLK_CONFIG": os.devnull,
        "KINFOLK_DATA_DIR": str(tmp_path / "data"),
        "KINFOLK_DOMAIN": f"127.0.0.1:{port}",
        "KINFOLK_PROTOCOL": "http",
        "KINFOLK_PORT": str(port),
        "KINFOLK_METRICS_TOKEN": TOKEN,
        "KINFOLK_ACCESS_LOG": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    env.pop("KINFOLK_DATABASE_URL", None)
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "kinfolk", "web", "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "web.log").read_text())
        # Requests until both processes have counted some (one file of counters each).
        made = 0
        while made < 30 or (len(list(metrics_dir.glob("counter_*.db"))) < 2 and made < 1000):
            assert _get(f"{base}/api/v1/instance")[0] == 200
            made += 1
        assert len(list(metrics_dir.glob("counter_*.db"))) >= 2
        counts = []
        for _ in range(6):
            status, text = _get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            counts.append(_instance_requests(text))
        assert counts == [float(made)] * 6
        assert _get(f"{base}/metrics")[0] == 401
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        try:
            web.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait(5)
        log.close()
