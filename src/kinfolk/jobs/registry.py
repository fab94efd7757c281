"""Job handlers: the code that runs a declared kind, bound by name with `@handles`.

The kinds themselves (queue, attempts, lease, backoff) are declared in `jobs/kinds.py`, which
every process imports; the handlers live in the domain's `jobs.py` modules, which only a worker
imports (`jobs/handlers.py`). Binding a name that is not declared fails when the module is
imported, so a typo cannot leave a kind without its handler unnoticed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kinfolk.jobs.kinds import lookup

if TYPE_CHECKING:
    from kinfolk.jobs.context import JobContext

Handler = Callable[["JobContext", dict[str, Any]], Awaitable[None]]


class PermanentJobError(Exception):
    """Raised by a handler when retrying can never help (a 410, a malformed payload)."""


class RetryLater(Exception):
    """Raised by a handler that wants to be retried after `delay` seconds (a Retry-After)."""

    def __init__(self, delay: float, message: str = "retry later") -> None:
        self.delay = delay
        super().__init__(message)


_HANDLERS: dict[str, Handler] = {}


def _origin(fn: Handler) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def handles(name: str) -> Callable[[Handler], Handler]:
    """Bind the decorated coroutine as the handler of the declared kind `name`.

    Raises `kinds.UnknownJobKind` for an undeclared name, and ValueError when another function
    already handles it (the same function imported again replaces itself).
    """
    lookup(name)

    def bind(fn: Handler) -> Handler:
        bound = _HANDLERS.get(name)
        if bound is not None and _origin(bound) != _origin(fn):
            raise ValueError(f"job kind {name!r} is already handled by {_origin(bound)}")
        _HANDLERS[name] = fn
        return fn

    return bind


def handler_for(name: str) -> Handler | None:
    """The handler bound to `name` in this process, if its module was imported."""
    return _HANDLERS.get(name)


def bound_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)
