"""Account jobs: copying remote accounts' avatars and headers (`remote_images.py`)."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts import remote_images
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles


@handles(remote_images.COPY_JOB)
async def copy_remote_image(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        account_id = int(payload["account_id"])
        which = str(payload["image"])
        url = str(payload["url"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {payload!r}") from exc
    if which not in remote_images.PICTURES:
        raise PermanentJobError(f"bad payload: {payload!r}")
    container = ctx.container
    await remote_images.copy_remote_image(
        container.settings,
        container.storage,
        ctx.uow,
        account_id,
        which,
        url,
        last_attempt=ctx.is_last_attempt,
    )
