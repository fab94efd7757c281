"""Media jobs: transcoding uploads, caching remote files, and the housekeeping that deletes
files once no row points at them."""

from __future__ import annotations

import logging
from typing import Any

from kinfolk.domain.media import remote, service
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles
from kinfolk.jobs.scheduler import periodic

log = logging.getLogger("kinfolk.media")

HOUSEKEEPING_EVERY = 3600


def _media_id(payload: dict[str, Any]) -> int:
    try:
        return int(payload["media_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {payload!r}") from exc


@handles("media.remove_files")
async def remove_files(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Delete stored files of media rows already removed from the database."""
    for key in payload.get("keys", []):
        await ctx.container.storage.delete(str(key))


# Transcoding a long video takes minutes: a long lease, few attempts.
@handles(service.PROCESS_JOB)
async def process_media(ctx: JobContext, payload: dict[str, Any]) -> None:
    container = ctx.container
    await service.process_pending(
        container.settings, container.storage, ctx.uow, _media_id(payload), last_attempt=ctx.is_last_attempt
    )


@handles(remote.FETCH_JOB)
async def fetch_remote_media(ctx: JobContext, payload: dict[str, Any]) -> None:
    container = ctx.container
    await remote.fetch_remote(
        container.settings, container.storage, ctx.uow, _media_id(payload), last_attempt=ctx.is_last_attempt
    )


@periodic("media.remove_unattached", every=HOUSEKEEPING_EVERY)
@handles("media.remove_unattached")
async def remove_unattached(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Uploads never posted within a day go, rows and files."""
    removed = await service.remove_unattached(ctx.uow)
    if removed:
        log.info("removed %d unattached media", removed)


@periodic("media.remove_remote_cache", every=HOUSEKEEPING_EVERY)
@handles("media.remove_remote_cache")
async def remove_remote_cache(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Cached copies of remote media older than `media_cache_retention_days` go."""
    removed = await service.remove_remote_cache(ctx.uow, ctx.container.settings)
    if removed:
        log.info("removed the cached files of %d remote media", removed)
