"""Prometheus metrics: what the process counts as it runs, and what the database tells at scrape time.

Counted in the process (per process, or summed over processes in prometheus_client's
multiprocess mode, when `PROMETHEUS_MULTIPROC_DIR` is set before start-up): requests by route
template and status, their latency, jobs finished by kind and outcome, open streaming
connections. Read at each scrape (global, whatever the number of processes, since the queue is a
table): the job queue's depth and the age of its oldest due job per queue, dead jobs by kind.
Read from the scraped process: its database pool's use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from kinfolk.kernel.clock import utcnow

# No `*_created` series beside every counter and histogram: half the output, of no use here.
disable_created_metrics()

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The process's own metrics. In multiprocess mode prometheus_client writes their values to files
# in PROMETHEUS_MULTIPROC_DIR whatever registry they are in; a scrape then sums the files.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "kinfolk_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "kinfolk_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "kinfolk_jobs_finished",
    "Job attempts finished by this process, by kind and outcome (done, failed: retried later, dead).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
STREAMING = Gauge(
    "kinfolk_streaming_connections",
    "Open streaming connections (WebSocket and server-sent events).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

UNMATCHED = "<unmatched>"
# Any other method a client sends is counted as OTHER: labels must not grow with what clients invent.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """The two per-request observations, with their label children cached: `labels()` parses its
    arguments on every call, a dictionary look-up does not (this runs on every request)."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[str, Any] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = REQUESTS.labels(route, method if method in METHODS else "OTHER", str(status))
            if method in METHODS:
                self._counters[key] = counter
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = LATENCY.labels(route)
        histogram.observe(seconds)


def job_finished(kind: str, outcome: str) -> None:
    JOBS_FINISHED.labels(kind, outcome).inc()


class DatabaseCollector(Collector):
    """Read at scrape time: the queue from the database (global), the pool from this process.

    `snapshot` is filled by the scrape endpoint just before it renders (collectors are
    synchronous, the database is asynchronous)."""

    def __init__(self) -> None:
        self.snapshot: dict[str, Any] = {}

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        depth = GaugeMetricFamily(
            "kinfolk_jobs_queued", "Jobs waiting in each queue (due now or later).", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "kinfolk_jobs_oldest_due_age_seconds",
            "How long the oldest due job of each queue has waited past its run time (0 when none is due).",
            labels=["queue"],
        )
        for queue, (count, age) in sorted(snap.get("queues", {}).items()):
            depth.add_metric([queue], count)
            oldest.add_metric([queue], age)
        yield depth
        yield oldest
        dead = GaugeMetricFamily(
            "kinfolk_jobs_dead", "Dead jobs kept in the table, by kind.", labels=["kind"]
        )
        for kind, count in sorted(snap.get("dead", {}).items()):
            dead.add_metric([kind], count)
        yield dead
        if "pool_size" in snap:
            yield GaugeMetricFamily(
                "kinfolk_db_pool_size",
                "Connections this process's database pool keeps.",
                value=snap["pool_size"],
            )
            yield GaugeMetricFamily(
                "kinfolk_db_pool_checked_out",
                "Connections of this process's pool in use at scrape time.",
                value=snap["pool_checked_out"],
            )


async def read_database(container: Any) -> dict[str, Any]:
    """The queue's state (one grouped statement per question) and the pool's use."""
    from kinfolk.jobs.kinds import known_queues
    from kinfolk.jobs.models import DEAD, QUEUED, Job

    now = utcnow()
    snap: dict[str, Any] = {}
    pool = container.db.engine.pool
    size = getattr(pool, "size", None)
    checked_out = getattr(pool, "checkedout", None)
    if callable(size) and callable(checked_out):
        snap["pool_size"] = size()
        snap["pool_checked_out"] = checked_out()
    async with container.db.uow(write=False) as uow:
        queued = await uow.session.execute(
            select(Job.queue, func.count(), func.min(Job.run_at))
            .where(Job.state == QUEUED)
            .group_by(Job.queue)
        )
        due = await uow.session.execute(
            select(Job.queue, func.min(Job.run_at))
            .where(Job.state == QUEUED, Job.run_at <= now)
            .group_by(Job.queue)
        )
        dead = await uow.session.execute(
            select(Job.kind, func.count()).where(Job.state == DEAD).group_by(Job.kind)
        )
        oldest_due = {queue: _as_aware(run_at) for queue, run_at in due}
        snap["queues"] = {
            queue: (
                count,
                max(0.0, (now - oldest_due[queue]).total_seconds()) if queue in oldest_due else 0.0,
            )
            for queue, count, _ in queued
        }
        # An empty queue is reported at 0, not left out: an alert on depth must see it drain.
        for queue in known_queues():
            snap["queues"].setdefault(queue, (0, 0.0))
        snap["dead"] = {kind: count for kind, count in dead}
    return snap


def _as_aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def render(database: dict[str, Any]) -> bytes:
    """The text exposition format: this process's (or all processes') metrics and the database's."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    collector = DatabaseCollector()
    collector.snapshot = database
    registry.register(collector)
    return generate_latest(registry)


class _Forward(Collector):
    """The process registry's metrics, inside the registry built for one scrape."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        return iter(self.source.collect())
