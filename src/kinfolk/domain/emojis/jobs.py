"""Custom emoji jobs: copying remote emojis' pictures (`service.copy_image`)."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.emojis import service
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles


@handles(service.COPY_JOB)
async def copy_image(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        emoji_id = int(payload["emoji_id"])
        url = str(payload["url"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {payload!r}") from exc
    container = ctx.container
    await service.copy_image(
        container.settings, container.storage, ctx.uow, emoji_id, url, last_attempt=ctx.is_last_attempt
    )
