"""Housekeeping jobs for the queue itself."""

from __future__ import annotations

import logging
from typing import Any

from kinfolk.jobs.admin import prune_finished
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import handles
from kinfolk.jobs.scheduler import periodic

log = logging.getLogger("kinfolk.jobs")

PRUNE_EVERY = 3600


@periodic("jobs.prune", every=PRUNE_EVERY)
@handles("jobs.prune")
async def prune_jobs(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Keep the jobs table small: finished work goes after a week, dead jobs after 90 days."""
    result = await prune_finished(ctx.uow.session)
    if result.done or result.dead:
        log.info("pruned %d done and %d dead jobs", result.done, result.dead)
