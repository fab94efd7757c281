"""Asking for what other servers hold of a thread or a profile, to be fetched in the background.

The domain only names the jobs (federation fills them in, `federation/backfill.py`): a remote
thread's missing posts when someone opens it, a remote account's recent public posts when
someone here first looks it up (a search by handle or URL) or opens its profile. Accounts met any
other way (a boost's or a fetched reply's author) are not backfilled: a thread of 200 strangers
must not become 200 outboxes fetched.

A thread is asked for at most once an hour, whoever opens it and however often: the job's
`dedup_key` names the thread's root and the hour, and a job made in the previous hour's slot
less than an hour ago counts too. The checks are reads by unique key, so opening a thread or a
profile again costs no write.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from kinfolk.db.database import Database, UnitOfWork
from kinfolk.jobs.models import Job
from kinfolk.kernel.clock import utcnow

THREAD_JOB = "federation.backfill_thread"
PROFILE_JOB = "federation.backfill_profile"
THREAD_EVERY = timedelta(hours=1)

log = logging.getLogger("kinfolk.backfill")


async def ask_from_a_read(db: Database, ask: Callable[[UnitOfWork], Awaitable[None]]) -> None:
    """Run `ask` (a request below) in a unit of work of its own, for a read that asks: best
    effort, since a database that cannot take the write now (a full disk, a fault) must not
    fail the read itself; the next read asks again."""
    try:
        async with db.uow() as uow:
            await ask(uow)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("backfill not queued: %r", exc)


def _slot_key(root_id: int, slot: int) -> str:
    return f"backfill:thread:{root_id}:{slot}"


async def thread_recently_asked(uow: UnitOfWork, root_id: int) -> bool:
    """Whether the thread rooted at `root_id` was asked for less than an hour ago."""
    now = utcnow()
    slot = int(now.timestamp() // THREAD_EVERY.total_seconds())
    keys = [_slot_key(root_id, slot), _slot_key(root_id, slot - 1)]
    made = (await uow.session.execute(select(Job.created_at).where(Job.dedup_key.in_(keys)))).scalars()
    return any(now - created < THREAD_EVERY for created in made)


async def request_thread(uow: UnitOfWork, root_id: int) -> None:
    """Queue the backfill of the remote thread whose topmost known post is `root_id`, unless it
    was asked for within the hour (call `thread_recently_asked` first to spare the write)."""
    if await thread_recently_asked(uow, root_id):
        return
    slot = int(utcnow().timestamp() // THREAD_EVERY.total_seconds())
    await uow.enqueue(THREAD_JOB, {"status_id": root_id}, dedup_key=_slot_key(root_id, slot))


def _profile_key(account_id: int) -> str:
    return f"backfill:profile:{account_id}"


async def profile_asked(uow: UnitOfWork, account_id: int) -> bool:
    """Whether the account's recent posts were asked for (while the queue keeps the job)."""
    found = await uow.session.execute(select(Job.id).where(Job.dedup_key == _profile_key(account_id)))
    return found.first() is not None


async def request_profile(uow: UnitOfWork, account_id: int) -> None:
    """Queue the fetch of a remote account's recent public posts, once per account."""
    await uow.enqueue(PROFILE_JOB, {"account_id": account_id}, dedup_key=_profile_key(account_id))
