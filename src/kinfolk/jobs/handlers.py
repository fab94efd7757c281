"""Which modules hold the `@handles` handlers: a worker imports them all before it claims anything.

The kinds are declared in `jobs/kinds.py`; a declared kind whose module is missing here has no
handler in the worker, which buries its jobs with an error naming it, so every area that handles
jobs adds its module to `HANDLER_MODULES`. `KINFOLK_JOB_MODULES` (comma-separated) adds more,
for plugins and for tests that run a worker in a subprocess.
"""

from __future__ import annotations

import importlib
import os

HANDLER_MODULES: tuple[str, ...] = (
    "kinfolk.jobs.maintenance",
    "kinfolk.domain.statuses.jobs",
    "kinfolk.domain.accounts.jobs",
    "kinfolk.domain.emojis.jobs",
    "kinfolk.domain.media.jobs",
    "kinfolk.domain.cards.jobs",
    "kinfolk.domain.relationships.jobs",
    "kinfolk.domain.notifications.jobs",
    "kinfolk.domain.timelines.jobs",
    "kinfolk.domain.trends.jobs",
    "kinfolk.federation.ingress",
    "kinfolk.federation.distribute",
    "kinfolk.federation.deliver",
    "kinfolk.federation.featured",
    "kinfolk.federation.backfill",
)

# Declared kinds whose handlers are not written yet: the federation work binds them and empties
# this set (tests/jobs/test_kinds.py checks that every other declared kind has a handler).
PENDING_KINDS: frozenset[str] = frozenset({"federation.fetch"})

ENV_VAR = "KINFOLK_JOB_MODULES"


def handler_modules(extra: str | None = None) -> list[str]:
    """The configured modules plus those named in `extra` (default: the environment variable)."""
    if extra is None:
        extra = os.environ.get(ENV_VAR, "")
    names = list(HANDLER_MODULES)
    for name in extra.split(","):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    return names


def load_handler_modules(extra: str | None = None) -> list[str]:
    """Import every handler module; a module that fails to import stops the worker loudly."""
    names = handler_modules(extra)
    for name in names:
        importlib.import_module(name)
    return names
