"""Job kinds: each has a handler, a queue and a retry policy, declared where the handler lives."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinfolk.jobs.context import JobContext

Handler = Callable[["JobContext", dict[str, Any]], Awaitable[None]]


def exponential_backoff(base: float = 15.0, cap: float = 3 * 86400.0) -> Callable[[int], float]:
    """Seconds to wait before attempt `n + 1`, growing as base * 4^n with +-25% jitter."""

    def delay(attempt: int) -> float:
        raw = min(cap, base * (4 ** max(0, attempt - 1)))
        return raw * random.uniform(0.75, 1.25)

    return delay


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    queue: str = "default"
    max_attempts: int = 10
    lease_seconds: float = 300.0
    backoff: Callable[[int], float] = field(default_factory=exponential_backoff)


class PermanentJobError(Exception):
    """Raised by a handler when retrying can never help (a 410, a malformed payload)."""


class RetryLater(Exception):
    """Raised by a handler that wants to be retried after `delay` seconds (a Retry-After)."""

    def __init__(self, delay: float, message: str = "retry later") -> None:
        self.delay = delay
        super().__init__(message)


_KINDS: dict[str, JobKind] = {}


def job(
    name: str,
    *,
    queue: str = "default",
    max_attempts: int = 10,
    lease_seconds: float = 300.0,
    backoff: Callable[[int], float] | None = None,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _KINDS[name] = JobKind(
            name=name,
            handler=fn,
            queue=queue,
            max_attempts=max_attempts,
            lease_seconds=lease_seconds,
            backoff=backoff or exponential_backoff(),
        )
        return fn

    return register


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def known_queues() -> frozenset[str]:
    """Every queue a registered kind uses (and `default`): what a monitor should see, at 0 when empty."""
    return frozenset({"default", *(kind.queue for kind in _KINDS.values())})


def all_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)
