"""Account jobs: the purge of a deleted account, one bounded batch per job (`deletion.py`),
copying remote accounts' avatars and headers (`remote_images.py`), and verifying profile links
(`links.py`).

Each purge run removes at most `deletion.BATCH` rows in the job's own unit of work and, while
more remains, enqueues the next run in the same transaction: an account with a hundred thousand
statuses is many short transactions (and other jobs run between them), never one long one.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts import deletion, links, remote_images
from kinfolk.infra.fetch import FetchError
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, RetryLater, handles


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


@handles(links.VERIFY_JOB)
async def verify_link(ctx: JobContext, payload: dict[str, Any]) -> None:
    account_id, link = payload.get("account_id"), payload.get("link")
    if isinstance(account_id, bool) or not isinstance(account_id, int) or not isinstance(link, str):
        raise PermanentJobError(f"bad payload: {payload!r}")
    container = ctx.container
    try:
        await links.verify_link(container.settings, container.uris, container.db, ctx.uow, account_id, link)
    except FetchError as exc:
        if ctx.is_last_attempt:
            return  # unverified; the next change of the profile tries again
        if exc.retry_after is not None:
            raise RetryLater(exc.retry_after, f"{link}: {exc.reason}") from exc
        raise
