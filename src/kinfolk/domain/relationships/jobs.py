"""Background side effects of relationship changes: home feed merge and unmerge, expired mutes,
and the follows a user domain block ends. Each handler is a thin call into the service.
"""

from __future__ import annotations

import logging
from typing import Any

from kinfolk.domain.relationships import service
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles
from kinfolk.jobs.scheduler import periodic

log = logging.getLogger("kinfolk.relationships")

EXPIRE_MUTES_EVERY = 300


def _id(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PermanentJobError(f"payload has no valid {key}")
    try:
        return int(value)
    except ValueError as exc:
        raise PermanentJobError(f"payload has no valid {key}") from exc


@handles("feeds.merge")
async def merge_feed(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A new follow: the followed account's recent statuses go into the follower's home feed."""
    await service.merge_into_home(
        ctx.uow.session, _id(payload, "account_id"), _id(payload, "target_account_id")
    )


@handles("feeds.unmerge")
async def unmerge_feed(ctx: JobContext, payload: dict[str, Any]) -> None:
    """An unfollow, block or mute: the other account's entries leave the home feed."""
    await service.unmerge_from_home(
        ctx.uow.session,
        _id(payload, "account_id"),
        _id(payload, "target_account_id"),
        purge=bool(payload.get("purge", False)),
    )


@handles("relationships.domain_blocked")
async def domain_blocked(ctx: JobContext, payload: dict[str, Any]) -> None:
    domain = payload.get("domain")
    if not isinstance(domain, str) or not domain:
        raise PermanentJobError("payload has no domain")
    await service.apply_domain_block(ctx.uow, _id(payload, "account_id"), domain)


@periodic("relationships.expire_mutes", every=EXPIRE_MUTES_EVERY)
@handles("relationships.expire_mutes")
async def expire_mutes(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Timed mutes end: the rows go, and followed accounts come back into home feeds."""
    removed = await service.expire_mutes(ctx.uow)
    if removed:
        log.info("expired %d mutes", removed)
