"""Account jobs: the purge of a deleted account, one bounded batch per job (`deletion.py`),
and copying remote accounts' avatars and headers (`remote_images.py`).

Each purge run removes at most `deletion.BATCH` rows in the job's own unit of work and, while
more remains, enqueues the next run in the same transaction: an account with a hundred thousand
statuses is many short transactions (and other jobs run between them), never one long one.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts import deletion, remote_images
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles


@handles(deletion.PURGE)
async def purge_account(ctx: JobContext, payload: dict[str, Any]) -> None:
    account_id = payload.get("account_id")
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise PermanentJobError("payload has no account_id")
    if await deletion.purge(ctx.uow, account_id):
        await ctx.uow.enqueue(deletion.PURGE, {"account_id": account_id})


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
