"""The periodic job that recomputes trends; requests never aggregate."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.trends import service
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import handles
from kinfolk.jobs.scheduler import periodic

REFRESH_EVERY = 600


@periodic("trends.refresh", every=REFRESH_EVERY)
@handles("trends.refresh")
async def refresh_trends(ctx: JobContext, payload: dict[str, Any]) -> None:
    await service.refresh(ctx.uow.session, local_host=ctx.container.settings.domain)
