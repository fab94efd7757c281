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
