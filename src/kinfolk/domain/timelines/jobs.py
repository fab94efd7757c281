"""Feed housekeeping: trimming home and list feeds, and list membership merges."""

from __future__ import annotations

import logging
from typing import Any

from kinfolk.domain.timelines import lists
from kinfolk.domain.timelines.models import HomeFeedEntry, ListFeedEntry
from kinfolk.domain.timelines.repo import feeds as repo
from kinfolk.domain.timelines.service import HOME_FEED_SIZE, LIST_FEED_SIZE
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles
from kinfolk.jobs.scheduler import periodic

log = logging.getLogger("kinfolk.timelines")

TRIM_EVERY = 3600
# Feeds trimmed per run; a feed left over is trimmed on the next run.
TRIM_BATCH = 500


def _id(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise PermanentJobError(f"payload has no valid {key}")
    return int(value)


@periodic("feeds.trim", every=TRIM_EVERY)
@handles("feeds.trim")
async def trim_feeds(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Keep the newest rows of each home and list feed; older pages are read through."""
    session = ctx.uow.session
    trimmed = 0
    for account_id in await repo.accounts_over(
        session, HomeFeedEntry.__table__, HomeFeedEntry.account_id, HOME_FEED_SIZE, TRIM_BATCH
    ):
        trimmed += await repo.trim_home(session, account_id, HOME_FEED_SIZE)
    for list_id in await repo.accounts_over(
        session, ListFeedEntry.__table__, ListFeedEntry.list_id, LIST_FEED_SIZE, TRIM_BATCH
    ):
        trimmed += await repo.trim_list(session, list_id, LIST_FEED_SIZE)
    if trimmed:
        log.info("trimmed %d feed rows", trimmed)


@handles("lists.merge")
async def merge_list(ctx: JobContext, payload: dict[str, Any]) -> None:
    await lists.merge(ctx.uow.session, _id(payload, "list_id"), _id(payload, "account_id"))


@handles("lists.unmerge")
async def unmerge_list(ctx: JobContext, payload: dict[str, Any]) -> None:
    await lists.unmerge(ctx.uow.session, _id(payload, "list_id"), _id(payload, "account_id"))
