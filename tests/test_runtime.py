"""Which event loop a process runs on (runtime.event_loop)."""

from __future__ import annotations

import pytest

from kinfolk import runtime


def test_web_processes_default_to_the_standard_loop_and_workers_to_uvloop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(runtime.EVENT_LOOP_ENV, raising=False)
    assert runtime.event_loop(serving=True) == "asyncio"
    assert runtime.event_loop(serving=False) == "uvloop"


def test_the_setting_chooses_for_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime.EVENT_LOOP_ENV, " UVLoop ")
    assert runtime.event_loop(serving=True) == "uvloop"
    monkeypatch.setenv(runtime.EVENT_LOOP_ENV, "asyncio")
    assert runtime.event_loop(serving=False) == "asyncio"
    monkeypatch.setenv(runtime.EVENT_LOOP_ENV, "tokio")
    with pytest.raises(SystemExit, match="KINFOLK_EVENT_LOOP must be one of asyncio, uvloop"):
        runtime.event_loop(serving=True)


def test_run_loop_runs_on_the_chosen_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    async def loop_class() -> str:
        return type(asyncio.get_running_loop()).__module__

    monkeypatch.setenv(runtime.EVENT_LOOP_ENV, "uvloop")
    assert runtime.run_loop(loop_class(), serving=True).startswith("uvloop")
    monkeypatch.setenv(runtime.EVENT_LOOP_ENV, "asyncio")
    assert runtime.run_loop(loop_class(), serving=True).startswith("asyncio")


def test_the_serve_worker_thread_runs_at_a_lower_priority_than_the_rest() -> None:
    import os
    import threading

    from kinfolk.runtime import lower_thread_priority

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: dict[str, int] = {}

    def worker() -> None:
        lower_thread_priority(3)
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["worker"] == min(19, before + 3)
    # Only that thread: the caller's own priority is unchanged.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


async def test_serve_runs_its_job_worker_thread_at_the_configured_lower_priority(container, settings) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import os
    import threading

    from kinfolk.runtime import BackgroundWorker

    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = BackgroundWorker(settings.model_copy(update={"serve_worker_nice": 4}), container)
    await asyncio.to_thread(worker.start)
    try:
        assert worker.thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, worker.thread.native_id) == min(19, own + 4)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    finally:
        await asyncio.to_thread(worker.stop)


def test_a_worker_process_raises_its_open_files_limit_for_its_delivery_slots() -> None:
    """Started at a soft limit of 256 (below what 512 waiting deliveries need), the process
    raises it as far as it needs, never past the hard limit."""
    import resource
    import subprocess
    import sys

    from kinfolk.config import Settings

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = runtime.open_files_for(Settings(secret_key="k", delivery_concurrency=512))
    assert needed > 1024
    expected = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    script = (
        "import resource\n"
        "from kinfolk.config import Settings\n"
        "from kinfolk.runtime import allow_open_files, open_files_for\n"
        "allow_open_files(open_files_for(Settings(secret_key='k', delivery_concurrency=512)))\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )

    def start_low() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, preexec_fn=start_low
    ).stdout
    assert int(out) == expected
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft  # the test process is untouched
