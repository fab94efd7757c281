"""The table of job kinds (`jobs/kinds.py`): every process enqueues a kind on its declared queue,
whatever handler modules it imported; an undeclared kind is refused; every declared kind has a
handler (but the federation kinds still pending); the README lists exactly the code's queues."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.handlers import PENDING_KINDS, load_handler_modules
from kinfolk.jobs.kinds import BUILTIN, QUEUES, UnknownJobKind, delivery_backoff, known_queues, lookup
from kinfolk.jobs.models import DEAD, DONE, QUEUED, Job
from kinfolk.jobs.registry import bound_kinds, handler_for, handles
from kinfolk.jobs.worker import Worker
from tests.jobs.helpers import enqueue, load_job

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _job_count(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return (await uow.session.execute(select(func.count()).select_from(Job))).scalar_one()


def _subprocess_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The test database and nothing else of this process's configuration."""
    return {key: value for key, value in os.environ.items() if not key.startswith("KINFOLK_")} | {
        "KINFOLK_DATABASE_URL": settings.resolved_database_url,
        "KINFOLK_DATA_DIR": str(tmp_path / "data"),
        "KINFOLK_SECRET_KEY": "test-secret-key",
        "KINFOLK_DOMAIN": settings.domain,
        "KINFOLK_CONFIG": str(tmp_path / "no-such-config.toml"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO_ROOT / "src"), str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }


# -- the table itself -----------------------------------------------------------------------


def test_every_declared_kind_has_a_handler_except_the_pending_ones() -> None:
    load_handler_modules(extra="")
    missing = {name for name in BUILTIN if handler_for(name) is None}
    assert missing == set(PENDING_KINDS), (
        "declared kinds without a handler must be listed in jobs.handlers.PENDING_KINDS, "
        "and a kind whose handler exists must leave it"
    )
    assert set(PENDING_KINDS) <= set(BUILTIN)


def test_only_declared_kinds_are_bound() -> None:
    load_handler_modules(extra="")
    assert all(lookup(name) for name in bound_kinds())
    with pytest.raises(UnknownJobKind, match=r"nobody\.declared\.this"):
        handles("nobody.declared.this")


def test_the_kinds_that_motivated_the_table_are_on_their_queues() -> None:
    assert lookup("push.deliver").queue == "push"
    assert lookup("media.process").queue == "media"
    assert lookup("federation.deliver").queue == "delivery"
    assert lookup("federation.distribute").queue == "delivery"
    assert lookup("federation.ingress").queue == "ingress"
    assert lookup("federation.fetch").queue == "pull"
    assert lookup("federation.deliver").max_attempts == 16
    assert lookup("federation.deliver").backoff is delivery_backoff
    assert {kind.queue for kind in BUILTIN.values()} == set(QUEUES)
    assert set(QUEUES) <= known_queues()


def test_deliveries_are_retried_for_two_to_three_days() -> None:
    retries = range(1, lookup("federation.deliver").max_attempts)  # no delay after the last
    shortest = sum(n**4 + 15 for n in retries)
    longest = sum(n**4 + 15 + 29 * (n + 1) for n in retries)
    assert shortest >= 2 * 86400 and longest <= 3 * 86400
    for n in retries:
        for _ in range(20):
            assert n**4 + 15 <= delivery_backoff(n) <= n**4 + 15 + 29 * (n + 1)
    assert len({delivery_backoff(3) for _ in range(50)}) > 1  # jittered


# -- the README ------------------------------------------------------------------------------


def _readme() -> str:
    return (REPO_ROOT / "README.md").read_text()


def test_readme_lists_exactly_the_codes_queues() -> None:
    bullet = re.search(r"^- \*\*M worker processes\*\*.*?(?=^- |\Z)", _readme(), re.M | re.S)
    assert bullet is not None, "README: the bullet on worker processes is gone"
    listed = re.findall(r"`([a-z_]+)` \(", bullet.group(0))
    assert sorted(listed) == sorted(QUEUES), f"README lists {listed}, the code has {list(QUEUES)}"
    assert len(listed) == len(set(listed))


def test_every_queues_option_in_the_docs_names_real_queues_and_the_example_covers_all() -> None:
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("**/*.md"))]
    named: list[list[str]] = []
    for path in documents:
        for value in re.findall(r"--queues[ =]([a-z_,]+)", path.read_text()):
            if value == "a,b":  # the placeholder of the command line summary
                continue
            queues = value.split(",")
            assert set(queues) <= set(QUEUES), f"{path.name}: --queues {value} names an unknown queue"
            named.append(queues)
    table = re.findall(r"`kinfolk worker --queues ([a-z_,]+)", _readme())
    covered = {queue for value in table for queue in value.split(",")}
    assert covered == set(QUEUES), f"the README's worker units leave {set(QUEUES) - covered} to no one"
    assert named


# -- enqueue ---------------------------------------------------------------------------------


async def test_enqueue_of_an_unknown_kind_raises_and_writes_nothing(container: Container) -> None:
    with pytest.raises(UnknownJobKind, match=r"no\.such\.kind"):
        async with container.db.uow() as uow:
            await uow.enqueue("statuses.created", {"status_id": 1})
            await uow.enqueue("no.such.kind", {})
    assert await _job_count(container) == 0


async def test_enqueue_takes_queue_and_attempts_from_the_table(container: Container) -> None:
    job_id = await enqueue(container, "federation.deliver", {"inbox": "https://remote.example/inbox"})
    job = await load_job(container, job_id)
    assert (job.queue, job.max_attempts) == ("delivery", 16)
    again = await enqueue(container, "media.process", {"media_id": 1}, dedup_key="media:1")
    async with container.db.uow() as uow:
        assert await uow.enqueue("media.process", {"media_id": 1}, dedup_key="media:1") is None
    assert (await load_job(container, again)).queue == "media"


_WEB_LIKE = """
import asyncio, sys

import kinfolk.api.app  # what a `kinfolk web` process imports to serve
from kinfolk.db.database import Database
from kinfolk.jobs.registry import handler_for

assert "kinfolk.domain.notifications.jobs" not in sys.modules, "the web side imported the push handler"
assert handler_for("push.deliver") is None


async def main(url: str) -> None:
    db = Database(url, pool_size=1)
    try:
        async with db.uow() as uow:
            print(await uow.enqueue("push.deliver", {"notification_id": 1, "subscription_id": 2}))
    finally:
        await db.dispose()


asyncio.run(main(sys.argv[1]))
"""


async def test_a_web_process_without_the_push_handlers_enqueues_web_push_on_push(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WEB_LIKE,
        settings.resolved_database_url,
        env=_subprocess_env(settings, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    job = await load_job(container, int(out.decode().split()[-1]))
    assert (job.kind, job.queue, job.max_attempts) == ("push.deliver", "push", 8)


# -- workers ---------------------------------------------------------------------------------


async def test_a_declared_kind_without_its_handler_dies_with_an_error_naming_it(
    container: Container,
) -> None:
    pending = await enqueue(container, "federation.fetch", {"uri": "https://remote.example/notes/1"})
    async with container.db.uow() as uow:
        stray = Job(kind="nobody.declared.this", queue="pull", payload={})
        uow.session.add(stray)
        await uow.session.flush()
        stray_id = stray.id

    worker = Worker(container, queues=["pull"], listen=False)
    assert await worker.run_once() == 2

    job = await load_job(container, pending)
    assert job.state == DEAD and job.attempts == 1 and job.last_error is not None
    assert "no handler bound for job kind 'federation.fetch'" in job.last_error
    assert "not written yet" in job.last_error
    unknown = await load_job(container, stray_id)
    assert unknown.state == DEAD and unknown.last_error is not None
    assert "unknown job kind 'nobody.declared.this'" in unknown.last_error
    # The worker itself goes on.
    assert await worker.run_once() == 0


async def test_kinfolk_worker_queues_media_claims_media_process(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    media_job = await enqueue(container, "media.process", {"media_id": 1})
    other_job = await enqueue(container, "statuses.created", {"status_id": 1})
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kinfolk", "worker", "--queues", "media", "--concurrency", "1"],
            cwd=tmp_path,
            env=_subprocess_env(settings, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while (await load_job(container, media_job)).state != DONE:
            assert proc.poll() is None, log_path.read_text()
            assert loop.time() < deadline, f"media.process never ran:\n{log_path.read_text()}"
            await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    done = await load_job(container, media_job)
    assert done.attempts == 1 and done.locked_by is not None
    untouched = await load_job(container, other_job)
    assert (untouched.state, untouched.attempts) == (QUEUED, 0)
