"""`GET /metrics`: off without a token, closed to the wrong one, and figures that follow the server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import TEST_DOMAIN

from kinfolk.api.app import create_app
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.jobs.kinds import JobKind, declare
from kinfolk.jobs.queue import enqueue
from kinfolk.jobs.registry import handles

TOKEN = "scrape-me-0123456789"


@handles(declare(JobKind("test.metrics_fails", queue="metricsq", max_attempts=1)).name)
async def _always_fails(ctx, payload) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("this job is meant to die")


@pytest.fixture
async def scraper(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    configured = Settings(**{**settings.model_dump(), "metrics_token": TOKEN})
    container = Container.build(configured, pool_size=3)
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as client:
            yield client, container
    finally:
        await container.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_are_off_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json() == {"error": "Record not found"}


async def test_metrics_need_the_token(scraper: tuple[httpx.AsyncClient, Container], make_user) -> None:
    client, _ = scraper
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "The access token is invalid"}
    # A user's access token is not the metrics token either.
    alice = await make_user("alice")
    assert (await client.get("/metrics", headers=alice.headers)).status_code == 401


async def test_requests_queue_jobs_and_pool(scraper: tuple[httpx.AsyncClient, Container], make_user) -> None:
    from kinfolk.jobs.worker import Worker

    client, container = scraper
    alice = await make_user("alice")
    route = "/api/v1/accounts/{id:int}"
    key = ("kinfolk_http_requests_total", (("method", "GET"), ("route", route), ("status", "200")))
    missing = ("kinfolk_http_requests_total", (("method", "GET"), ("route", route), ("status", "404")))
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"/api/v1/accounts/{alice.account_id}")).status_code == 200
    assert (await client.get("/api/v1/accounts/1")).status_code == 404
    assert (await client.get("/no/such/page")).status_code == 404
    brewed = await client.request("BREW", "/api/v1/instance")  # counted as OTHER, not as a new label

    # Two jobs posted, one due and one for later; a failing one, run to its death.
    async with container.db.uow() as uow:
        await enqueue(uow, "test.metrics_fails", {})
        from datetime import timedelta

        from kinfolk.kernel.clock import utcnow

        await enqueue(uow, "test.metrics_fails", {}, run_at=utcnow() + timedelta(hours=1))
    after = await scrape(client)
    assert after[key] - before.get(key, 0) == 3
    assert after[missing] - before.get(missing, 0) == 1
    unmatched = (
        "kinfolk_http_requests_total",
        (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
    )
    assert after[unmatched] >= 1
    other = (
        "kinfolk_http_requests_total",
        (("method", "OTHER"), ("route", "/api/v1/instance"), ("status", str(brewed.status_code))),
    )
    assert after[other] >= 1
    assert not [key for key in after if ("method", "BREW") in key[1]]
    count = ("kinfolk_http_request_duration_seconds_count", (("route", route),))
    assert after[count] - before.get(count, 0) == 4
    assert after[("kinfolk_jobs_queued", (("queue", "metricsq"),))] == 2
    assert after[("kinfolk_jobs_oldest_due_age_seconds", (("queue", "metricsq"),))] >= 0
    assert after[("kinfolk_db_pool_size", ())] >= 1
    assert ("kinfolk_db_pool_checked_out", ()) in after

    dead_key = ("kinfolk_jobs_finished_total", (("kind", "test.metrics_fails"), ("outcome", "dead")))
    worker = Worker(container, queues=["metricsq"], concurrency=1, listen=False)
    assert await worker.run_once() == 1
    last = await scrape(client)
    assert last[dead_key] - after.get(dead_key, 0) == 1
    assert last[("kinfolk_jobs_queued", (("queue", "metricsq"),))] == 1  # the one not yet due
    assert last[("kinfolk_jobs_dead", (("kind", "test.metrics_fails"),))] == 1
    assert ("kinfolk_streaming_connections", ()) in last
    assert not [key for key in last if key[0].endswith("_created")]


async def test_streaming_connections_are_counted_while_open(
    scraper: tuple[httpx.AsyncClient, Container], make_user
) -> None:
    from kinfolk.api.streaming.session import StreamSession
    from kinfolk.api.streaming.viewer import check

    client, container = scraper
    alice = await make_user("alice")
    gauge = ("kinfolk_streaming_connections", ())
    before = (await scrape(client))[gauge]
    viewer = await check(container, alice.token)
    assert viewer is not None
    sessions = [StreamSession(container, viewer) for _ in range(2)]
    for session in sessions:
        await session.open()
    assert (await scrape(client))[gauge] == before + 2
    for session in sessions:
        await session.close()
        await session.close()  # closing twice counts once
    assert (await scrape(client))[gauge] == before


async def test_empty_queues_are_reported_at_zero(scraper: tuple[httpx.AsyncClient, Container]) -> None:
    """Every queue a job kind uses shows, at 0 when nothing waits, so that a depth alert sees it drain."""
    client, _ = scraper
    scraped = await scrape(client)
    for queue in ("default", "push"):
        assert scraped[("kinfolk_jobs_queued", (("queue", queue),))] == 0
        assert scraped[("kinfolk_jobs_oldest_due_age_seconds", (("queue", queue),))] == 0
