"""PostgreSQL LISTEN on the jobs channel, so a worker hears about new jobs from any process.

A dedicated asyncpg connection (outside SQLAlchemy's pool, which would hand it to someone
else) listens on `kinfolk_jobs`; the payload is the queue name. If the connection drops the
listener reconnects with a growing pause and wakes the worker once, since notifications sent
meanwhile are lost. Polling stays on underneath, so a dead listener only costs latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from kinfolk.db.database import JOBS_CHANNEL

log = logging.getLogger("kinfolk.jobs.wakeup")


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url.replace("?pool=null", "")).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class PgListener:
    def __init__(
        self,
        dsn: str,
        on_queue: Callable[[str], None],
        *,
        channel: str = JOBS_CHANNEL,
        max_pause: float = 30.0,
        health_every: float = 30.0,
    ) -> None:
        self.dsn = dsn
        self.on_queue = on_queue
        self.channel = channel
        self.max_pause = max_pause
        self.health_every = health_every
        self.listening = asyncio.Event()
        # How many times LISTEN succeeded: more than one means it reconnected.
        self.connections = 0

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.on_queue(payload)

    async def run(self, stop: asyncio.Event) -> None:
        import asyncpg

        pause = 0.5
        while not stop.is_set():
            conn: Any = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._notified)
                self.listening.set()
                self.connections += 1
                pause = 0.5
                # Whatever was enqueued while we were not listening has to be looked at now.
                self.on_queue("")
                while not stop.is_set() and not lost.is_set():
                    await _first_of(stop.wait(), lost.wait(), timeout=self.health_every)
                    if not stop.is_set() and not lost.is_set():
                        # A silently dropped network path never fires the termination listener.
                        await conn.fetchval("SELECT 1", timeout=10)
                if not stop.is_set():
                    log.warning("LISTEN connection lost; reconnecting")
            except Exception as exc:  # refused, reset, auth, timeout: all mean poll and retry
                log.warning("cannot LISTEN on %s (%s); polling until it works", self.channel, exc)
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=5)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(self.max_pause, pause * 2)


async def _first_of(*aws: Any, timeout: float | None = None) -> None:
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
