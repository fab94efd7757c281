"""`kinfolk jobs list/show/retry`: operators see dead jobs with their last error and retry them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.models import DEAD, DONE, QUEUED, Job


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KINFOLK_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("KINFOLK_CONFIG", str(tmp_path / "none.toml"))
    return settings


def _seed(settings: Settings, state: str, error: str | None = None) -> int:
    async def go() -> int:
        container = Container.build(settings, pool_size=1)
        try:
            async with container.db.uow() as uow:
                job_id = await uow.enqueue("test.record", {"label": state}, max_attempts=3)
                assert job_id is not None
                job = await uow.session.get(Job, job_id)
                assert job is not None
                job.state, job.attempts, job.last_error = state, 3, error
            return job_id
        finally:
            await container.close()

    return asyncio.run(go())


def _load(settings: Settings, job_id: int) -> Job:
    async def go() -> Job:
        container = Container.build(settings, pool_size=1)
        try:
            async with container.db.uow(write=False) as uow:
                job = await uow.session.get(Job, job_id)
                assert job is not None
                return job
        finally:
            await container.close()

    return asyncio.run(go())


TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: inbox said 500'


def test_list_dead_shows_last_error(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    dead = _seed(cli_env, DEAD, TRACEBACK)
    done = _seed(cli_env, DONE)

    assert main(["jobs", "list", "--state", "dead"]) == 0

    out = capsys.readouterr().out
    assert "dead 1" in out and "done 1" in out
    line = next(line for line in out.splitlines() if line.startswith(str(dead)))
    assert "test.record" in line and "3/3" in line and "ValueError: inbox said 500" in line
    assert str(done) not in out


def test_show_prints_the_full_error(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    dead = _seed(cli_env, DEAD, TRACEBACK)

    assert main(["jobs", "show", str(dead)]) == 0

    out = capsys.readouterr().out
    assert "state: dead" in out
    assert TRACEBACK in out


def test_retry_queues_a_dead_job_with_fresh_attempts(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = _seed(cli_env, DEAD, TRACEBACK)

    assert main(["jobs", "retry", str(dead)]) == 0

    job = _load(cli_env, dead)
    assert (job.state, job.attempts, job.finished_at) == (QUEUED, 0, None)
    assert job.last_error == TRACEBACK


def test_retry_refuses_done_and_missing_jobs(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    done = _seed(cli_env, DONE)

    assert main(["jobs", "retry", str(done)]) == 1
    assert main(["jobs", "retry", "12345"]) == 1

    err = capsys.readouterr().err
    assert "only dead or queued jobs can be retried" in err
    assert "no job with id 12345" in err
    assert _load(cli_env, done).state == DONE
