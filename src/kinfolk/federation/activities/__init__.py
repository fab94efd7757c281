"""What each incoming activity type does: a registry of handlers, one module per family.

The inbox stored the activity and the ingress job (`federation/ingress.py`) parses it and calls
the handler registered for its type with `@handles_activity("Follow")`. A handler gets the
`IngressContext` (the job, the verified actor, the raw document, the container) and the parsed
envelope. It may fetch first (`ctx.container`'s transport, no transaction open), then writes
through `ctx.uow`, the job's unit of work, which commits with the job. A handler returns None
when it acted, or a short reason when it chose not to (recorded on the inbox row).

Handler modules are listed in `HANDLER_MODULES` and imported by `load_handlers()` (the ingress
job does, before it dispatches), so a new activity type is one module and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kinfolk.federation.parse.activity import ParsedActivity

if TYPE_CHECKING:
    from kinfolk.container import Container
    from kinfolk.db.database import UnitOfWork
    from kinfolk.domain.accounts.models import Account
    from kinfolk.jobs.context import JobContext

HANDLER_MODULES: tuple[str, ...] = (
    "kinfolk.federation.activities.follow",
    "kinfolk.federation.activities.interactions",
    "kinfolk.federation.activities.undo",
    "kinfolk.federation.activities.create",
    "kinfolk.federation.activities.update",
    "kinfolk.federation.activities.delete",
    "kinfolk.federation.activities.featured",
    "kinfolk.federation.activities.flag",
)


@dataclass(frozen=True)
class IngressContext:
    job: JobContext
    # The remote account that signed the request, which the inbox checked is the activity's actor.
    actor: Account
    raw: Mapping[str, Any]

    @property
    def container(self) -> Container:
        return self.job.container

    @property
    def uow(self) -> UnitOfWork:
        return self.job.uow


Handler = Callable[[IngressContext, ParsedActivity], Awaitable[str | None]]

_HANDLERS: dict[str, Handler] = {}


def handles_activity(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine for activities of type `kind` (one handler per type)."""

    def bind(fn: Handler) -> Handler:
        bound = _HANDLERS.get(kind)
        if bound is not None and (bound.__module__, bound.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"{kind} is handled by {bound.__module__}.{bound.__qualname__} already")
        _HANDLERS[kind] = fn
        return fn

    return bind


def load_handlers() -> dict[str, Handler]:
    for name in HANDLER_MODULES:
        importlib.import_module(name)
    return dict(_HANDLERS)


def handler_for(kind: str) -> Handler | None:
    load_handlers()
    return _HANDLERS.get(kind)
