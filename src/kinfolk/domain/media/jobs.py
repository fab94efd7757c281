"""Media housekeeping jobs."""

from __future__ import annotations

from typing import Any

from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import job


@job("media.remove_files", queue="default", max_attempts=5)
async def remove_files(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Delete stored files of media rows already removed from the database."""
    for key in payload.get("keys", []):
        await ctx.container.storage.delete(str(key))
