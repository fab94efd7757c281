"""Periodic jobs: each due slot is enqueued with a de-duplication key, so any number of
schedulers (one per worker process) inserts it exactly once.

A slot is `floor(unix_time / every)`; the job's key is `periodic:{kind}:{slot}` and it runs
at the start of its slot. A scheduler that was down for several slots enqueues only the
current one: periodic work catches up by doing everything that is due, not by running twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kinfolk.jobs.handlers import load_handler_modules
from kinfolk.jobs.kinds import lookup
from kinfolk.jobs.queue import enqueue
from kinfolk.kernel.clock import utcnow

if TYPE_CHECKING:
    from kinfolk.container import Container

log = logging.getLogger("kinfolk.jobs.scheduler")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: float
    payload: dict[str, Any] = field(default_factory=dict)

    def slot(self, now: datetime) -> int:
        return math.floor(now.timestamp() / self.every)

    def dedup_key(self, slot: int) -> str:
        return f"periodic:{self.kind}:{slot}"

    def slot_start(self, slot: int) -> datetime:
        return datetime.fromtimestamp(slot * self.every, UTC)


_PERIODIC: dict[str, Periodic] = {}


def register_periodic(kind: str, *, every: float, payload: dict[str, Any] | None = None) -> Periodic:
    """Raises `kinds.UnknownJobKind` for an undeclared kind: at import, not at every tick."""
    lookup(kind)
    if every < 1:
        raise ValueError(f"periodic job {kind!r}: every must be at least 1 second")
    entry = Periodic(kind=kind, every=float(every), payload=dict(payload or {}))
    _PERIODIC[kind] = entry
    return entry


def periodic(kind: str, *, every: float, payload: dict[str, Any] | None = None) -> Callable[[F], F]:
    """Run job `kind` once every `every` seconds; stack it on the handler's `@handles(kind)`."""

    def decorate(fn: F) -> F:
        register_periodic(kind, every=every, payload=payload)
        return fn

    return decorate


def unregister_periodic(kind: str) -> None:
    _PERIODIC.pop(kind, None)


def all_periodic() -> dict[str, Periodic]:
    return dict(_PERIODIC)


class Scheduler:
    """Wakes up every `tick_seconds` and enqueues each periodic job whose slot has changed."""

    def __init__(
        self,
        container: Container,
        *,
        tick_seconds: float = 1.0,
        entries: list[Periodic] | None = None,
    ) -> None:
        self.container = container
        self.tick_seconds = tick_seconds
        self._entries = entries
        self._last_slot: dict[str, int] = {}
        if entries is None:
            load_handler_modules()

    def entries(self) -> list[Periodic]:
        return list(self._entries) if self._entries is not None else list(_PERIODIC.values())

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every entry whose current slot this scheduler has not handled yet.

        Returns the kinds actually inserted (not those another scheduler inserted first).
        """
        now = now or utcnow()
        due = [(entry, entry.slot(now)) for entry in self.entries()]
        due = [(entry, slot) for entry, slot in due if self._last_slot.get(entry.kind) != slot]
        if not due:
            return []
        inserted: list[str] = []
        async with self.container.db.uow() as uow:
            for entry, slot in due:
                job_id = await enqueue(
                    uow,
                    entry.kind,
                    dict(entry.payload),
                    run_at=entry.slot_start(slot),
                    dedup_key=entry.dedup_key(slot),
                )
                if job_id is not None:
                    inserted.append(entry.kind)
        for entry, slot in due:
            self._last_slot[entry.kind] = slot
        return inserted

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick_seconds)
