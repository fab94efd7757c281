"""Delivery to remote inboxes: retries, Retry-After, permanent failures, dead domains and hung
servers (checklist 73, 74, 75, 76, 81), against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.instance import delivery_hosts
from kinfolk.domain.relationships import service as relationships
from kinfolk.federation.service import transport
from kinfolk.kernel.clock import utcnow
from tests.federation.inboxes import (
    Answer,
    Inboxes,
    jobs_of,
    make_due,
    outbox_settings,
    remote_fields,
    run_jobs,
    running_inboxes,
    trust_local_keys,
)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return outbox_settings(db_url, tmp_path / "data")


@pytest.fixture
async def inboxes() -> AsyncIterator[Inboxes]:
    async with running_inboxes() as running:
        yield running


async def deliver_to(container: Container, inbox: str, actor_id: int, note: str = "hi") -> None:
    """A `federation.deliver` job as distribute enqueues it."""
    body = json.dumps({"id": f"https://kinfolk.test/activities/{note}", "type": "Create", "note": note})
    async with container.db.uow() as uow:
        await uow.enqueue("federation.deliver", {"inbox": inbox, "body": body, "actor_id": actor_id})


async def test_500_500_202_is_one_success_with_attempts_kept(
    container: Container, make_user: Any, inboxes: Inboxes
) -> None:
    alice = await make_user("alice")
    await trust_local_keys(container, inboxes)
    inbox = inboxes.url("remote.test", "/inbox")
    inboxes.script("remote.test", "/inbox", Answer(500), Answer(500), Answer(202))
    await deliver_to(container, inbox, alice.account_id)

    await run_jobs(container)
    [job] = await jobs_of(container, "federation.deliver")
    assert job.state == "queued" and job.attempts == 1 and "500" in (job.last_error or "")
    assert job.run_at > utcnow()  # waiting out the backoff, not retried at once
    for _ in range(2):
        await make_due(container)
        await run_jobs(container)
    [job] = await jobs_of(container, "federation.deliver")
    assert job.state == "done" and job.attempts == 3
    assert [status for _, _, status in inboxes.attempts] == [500, 500, 202]
    assert len(inboxes.received) == 1 and inboxes.received[0].verified
    # Running again sends nothing more.
    await make_due(container)
    await run_jobs(container)
    assert len(inboxes.attempts) == 3


async def test_429_retry_after_is_honoured(container: Container, make_user: Any, inboxes: Inboxes) -> None:
    alice = await make_user("alice")
    inboxes.script("remote.test", "/inbox", Answer(429, {"Retry-After": "600"}))
    await deliver_to(container, inboxes.url("remote.test", "/inbox"), alice.account_id)
    before = utcnow()
    await run_jobs(container)
    [job] = await jobs_of(container, "federation.deliver")
    assert job.state == "queued" and job.attempts == 1
    waited = (job.run_at - before).total_seconds()
    assert 590 <= waited <= 620, waited
    await run_jobs(container)
    assert len(inboxes.attempts) == 1  # not before its time
    await make_due(container)
    await run_jobs(container)
    assert [s for _, _, s in inboxes.attempts] == [429, 202]


async def test_410_is_not_retried(container: Container, make_user: Any, inboxes: Inboxes) -> None:
    alice = await make_user("alice")
    inboxes.script("remote.test", "/users/gone/inbox", Answer(410))
    await deliver_to(container, inboxes.url("remote.test", "/users/gone/inbox"), alice.account_id)
    await run_jobs(container)
    await make_due(container)
    await run_jobs(container)
    [job] = await jobs_of(container, "federation.deliver")
    assert job.state == "dead" and job.attempts == 1 and "410" in (job.last_error or "")
    assert len(inboxes.attempts) == 1
    # A 4xx is a live server refusing one activity: the domain is not counted as failing.
    async with container.db.uow(write=False) as uow:
        assert await delivery_hosts.get(uow.session, "remote.test") is None


async def test_domain_unavailable_after_seven_failure_days_until_alive(
    container: Container, make_user: Any, inboxes: Inboxes
) -> None:
    alice = await make_user("alice")
    day = datetime(2026, 12, 1, 10, tzinfo=UTC)
    async with container.db.uow() as uow:
        for n in range(6):
            # Many failures on one day count as one day.
            for hour in (0, 1, 5):
                gone = await delivery_hosts.record_failure(
                    uow.session, "remote.test", now=day + timedelta(days=n, hours=hour)
                )
                assert gone is False
        assert await delivery_hosts.is_unavailable(uow.session, "remote.test") is False
        assert await delivery_hosts.record_failure(uow.session, "REMOTE.test.", now=day + timedelta(days=6))
        assert await delivery_hosts.is_unavailable(uow.session, "remote.test")
        assert await delivery_hosts.is_unavailable(uow.session, "other.test") is False

    await deliver_to(container, inboxes.url("remote.test", "/inbox"), alice.account_id, "skipped")
    await deliver_to(container, inboxes.url("other.test", "/inbox"), alice.account_id, "sent")
    await run_jobs(container)
    assert [(h, p) for h, p, _ in inboxes.attempts] == [("other.test", "/inbox")]
    assert {j.state for j in await jobs_of(container, "federation.deliver")} == {"done"}

    async with container.db.uow() as uow:
        await delivery_hosts.mark_domain_alive(uow.session, "remote.test")
    await deliver_to(container, inboxes.url("remote.test", "/inbox"), alice.account_id, "again")
    await run_jobs(container)
    assert [r.document["note"] for r in inboxes.to("remote.test")] == ["again"]


async def test_failing_for_a_week_is_unavailable_and_a_success_clears_it(
    container: Container, make_user: Any, inboxes: Inboxes
) -> None:
    alice = await make_user("alice")
    now = utcnow()
    async with container.db.uow() as uow:
        assert not await delivery_hosts.record_failure(
            uow.session, "remote.test", now=now - timedelta(days=2)
        )
    inboxes.script("remote.test", "/inbox", Answer(503))
    await deliver_to(container, inboxes.url("remote.test", "/inbox"), alice.account_id)
    await run_jobs(container)
    async with container.db.uow(write=False) as uow:
        host = await delivery_hosts.get(uow.session, "remote.test")
        assert host is not None and host.failure_days == 2 and host.unavailable_at is None
    await make_due(container)
    await run_jobs(container)
    async with container.db.uow(write=False) as uow:
        host = await delivery_hosts.get(uow.session, "remote.test")
        assert host is not None and host.failing_since is None and host.last_success_at is not None

    async with container.db.uow() as uow:
        await delivery_hosts.record_failure(uow.session, "other.test", now=now - timedelta(days=8))
        assert await delivery_hosts.record_failure(uow.session, "other.test", now=now)


async def test_a_hanging_host_does_not_hold_up_the_others(
    container: Container,
    client: httpx.AsyncClient,
    make_user: Any,
    make_remote_account: Any,
    inboxes: Inboxes,
) -> None:
    alice = await make_user("alice")
    for username, host in (("bob", "remote.test"), ("dave", "other.test")):
        account = await make_remote_account(username, host, **await remote_fields(inboxes, host, username))
        async with container.db.uow() as uow:
            await relationships.follow(uow, account, alice.account_id, relationships.FollowOptions())
    transport(container).deadline = 1.5
    inboxes.script("remote.test", "/inbox", Answer(hang=True))
    response = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "hello"})
    assert response.status_code == 200

    started = time.monotonic()
    await run_jobs(container)
    assert time.monotonic() - started < 10
    assert [r.host for r in inboxes.received] == ["other.test"]
    # other.test had its answer before remote.test's deadline ran out, not after it.
    assert inboxes.received[0].at - started < 1.5
    states = {
        j.payload["inbox"].split("/")[2].split(":")[0]: j
        for j in await jobs_of(container, "federation.deliver")
    }
    assert states["other.test"].state == "done"
    assert states["remote.test"].state == "queued" and states["remote.test"].attempts == 1
    await make_due(container)
    await run_jobs(container)
    assert sorted(r.host for r in inboxes.received) == ["other.test", "remote.test"]
