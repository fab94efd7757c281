"""A worker process killed with SIGKILL mid-job loses nothing: once the job's lease (2 s for
`test.slow_marker`) expires, another worker process claims it and completes it."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.models import DONE, RUNNING
from tests.jobs.helpers import enqueue, load_job
from tests.jobs.sample_handlers import read_marks

pytestmark = pytest.mark.usefixtures("marks")

REPO_ROOT = Path(__file__).resolve().parents[2]


class WorkerProcesses:
    """Starts `python -m kinfolk worker` against the test database; kills leftovers at the end."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("KINFOLK_")} | {
            "KINFOLK_DATABASE_URL": settings.resolved_database_url,
            "KINFOLK_DATA_DIR": str(tmp_path / "worker-data"),
            "KINFOLK_SECRET_KEY": "test-secret-key",
            "KINFOLK_DOMAIN": settings.domain,
            "KINFOLK_CONFIG": str(tmp_path / "no-such-config.toml"),
            "KINFOLK_JOB_MODULES": "tests.jobs.sample_handlers",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kinfolk", "worker", "--concurrency", "1"],
            cwd=self.tmp_path,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("worker-*.log")))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def worker_processes(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcesses]:
    procs = WorkerProcesses(settings, tmp_path)
    try:
        yield procs
    finally:
        procs.close()


async def _wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float, procs: WorkerProcesses, what: str
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{procs.logs()}")


async def test_job_of_a_killed_worker_is_completed_by_another(
    container: Container, worker_processes: WorkerProcesses, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    job_id = await enqueue(container, "test.slow_marker", {"dir": str(markers), "sleep": 120})

    first = worker_processes.start()
    await _wait_for((markers / "attempt-1").exists, 30, worker_processes, "the first attempt to start")
    first_worker = (markers / "attempt-1").read_text()
    job = await load_job(container, job_id)
    assert (job.state, job.attempts, job.locked_by) == (RUNNING, 1, first_worker)

    first.kill()
    assert first.wait(timeout=10) == -9

    second = worker_processes.start()

    async def done() -> bool:
        return (await load_job(container, job_id)).state == DONE

    await _wait_for(done, 30, worker_processes, "the job to complete in the second worker")
    job = await load_job(container, job_id)
    second_worker = (markers / "attempt-2").read_text()
    assert second_worker != first_worker
    assert (job.attempts, job.locked_by) == (2, second_worker)
    assert [(m["attempt"], m["worker"]) for m in await read_marks(container.db)] == [(2, second_worker)]

    second.terminate()
    assert second.wait(timeout=15) == 0


async def test_sigterm_hands_the_running_job_back_within_the_shutdown_timeout(
    container: Container, worker_processes: WorkerProcesses, tmp_path: Path
) -> None:
    import time

    from kinfolk.jobs.models import QUEUED

    markers = tmp_path / "markers"
    markers.mkdir()
    job_id = await enqueue(container, "test.slow_marker", {"dir": str(markers), "sleep": 120})
    worker_processes.env["KINFOLK_SHUTDOWN_TIMEOUT"] = "1"
    proc = worker_processes.start()
    await _wait_for((markers / "attempt-1").exists, 30, worker_processes, "the job to start")

    stopped_at = time.monotonic()
    proc.terminate()
    assert await asyncio.to_thread(proc.wait, 15) == 0, worker_processes.logs()
    assert time.monotonic() - stopped_at < 8, "the shutdown timeout was not honoured"
    job = await load_job(container, job_id)
    # Handed back at once, the interrupted attempt not counted: no lease to wait out.
    assert (job.state, job.attempts, job.lease_until) == (QUEUED, 0, None), (job.state, job.attempts)
    assert "Traceback" not in worker_processes.logs()
