"""Incoming activities by type: the ingress job looks a handler up in `HANDLERS`.

Minimal registry (W2-B) written against the shared interface while the inbox branch (W2-A) was
not merged; the coordinator keeps one copy. Handler modules register with
`@handles_activity("Create")` and are imported by `load_handlers()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kinfolk.domain.accounts.models import Account
from kinfolk.federation.parse.activity import ParsedActivity

if TYPE_CHECKING:
    from kinfolk.container import Container
    from kinfolk.jobs.context import JobContext


@dataclass(frozen=True)
class IngressContext:
    """One incoming activity being handled: the job (its lazily started unit of work), the
    remote account that signed it (== the activity's actor) and the raw document."""

    job: JobContext
    actor: Account
    raw: Mapping[str, Any]

    @property
    def container(self) -> Container:
        return self.job.container


Handler = Callable[[IngressContext, ParsedActivity], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
HANDLER_MODULES = ("create", "update", "delete")


def handles_activity(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def load_handlers() -> dict[str, Handler]:
    for name in HANDLER_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return HANDLERS
