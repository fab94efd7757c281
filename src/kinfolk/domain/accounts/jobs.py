"""`accounts.purge`: what is left of a deleted account goes, one bounded batch per job.

Each run removes at most `deletion.BATCH` rows in the job's own unit of work and, while more
remains, enqueues the next run in the same transaction: an account with a hundred thousand
statuses is many short transactions (and other jobs run between them), never one long one.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts import deletion
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles


@handles(deletion.PURGE)
async def purge_account(ctx: JobContext, payload: dict[str, Any]) -> None:
    account_id = payload.get("account_id")
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise PermanentJobError("payload has no account_id")
    if await deletion.purge(ctx.uow, account_id):
        await ctx.uow.enqueue(deletion.PURGE, {"account_id": account_id})
