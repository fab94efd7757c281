"""The `federation.ingress` job: one stored inbox activity, parsed and handed to its handler.

The row and its actor are read (one statement) in a short read-only unit of work, so a handler
that fetches (a boosted note, a reply's parent) does so before the job's own unit of work takes a
write lock; the handler then writes through `ctx.uow`, and the row is marked processed in the
same commit, by a prepared statement (every activity pays for it: bench/RESULTS.md, G3.processed).
A type nobody handles, or an activity that no longer parses, is recorded on the row and left.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, update

from kinfolk.db.prepared import Prepared, run_in
from kinfolk.domain.accounts.models import Account
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, handler_for
from kinfolk.federation.models import InboxActivity
from kinfolk.federation.parse.activity import parse_activity
from kinfolk.federation.parse.values import ParseError
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import KinfolkError

log = logging.getLogger("kinfolk.federation.ingress")

# Forwarded activities whose handlers check the object at its origin when the signer is not
# its owner.
FORWARDED_TO_HANDLERS = frozenset({"Update", "Delete"})


_PROCESSED = Prepared(
    update(InboxActivity)
    .where(InboxActivity.id == bindparam("row_id", type_=BigInteger()))
    .values(
        processed_at=bindparam("processed_at", type_=InboxActivity.__table__.c.processed_at.type),
        outcome=bindparam("outcome", type_=InboxActivity.__table__.c.outcome.type),
    )
)


def _row_id(payload: dict[str, Any]) -> int:
    value = payload.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PermanentJobError("payload has no valid id")
    try:
        return int(value)
    except ValueError as exc:
        raise PermanentJobError("payload has no valid id") from exc


@handles("federation.ingress")
async def ingress(ctx: JobContext, payload: dict[str, Any]) -> None:
    row_id = _row_id(payload)
    async with ctx.container.db.uow(write=False) as uow:
        found = (
            await uow.session.execute(
                select(InboxActivity, Account)
                .join(Account, Account.id == InboxActivity.actor_id)
                .where(InboxActivity.id == row_id)
            )
        ).first()
    if found is None:
        return
    row, actor = found
    if row.processed_at is not None:
        return
    outcome = await _dispatch(ctx, row, actor)
    if outcome:
        log.info("inbox activity %s (%s) not acted on: %s", row.uri, row.type, outcome)
    await run_in(
        ctx.uow.session,
        _PROCESSED,
        {"row_id": row_id, "processed_at": utcnow(), "outcome": (outcome or "")[:255]},
    )


async def _dispatch(ctx: JobContext, row: InboxActivity, actor: Account) -> str | None:
    try:
        activity = parse_activity(row.raw)
    except ParseError as exc:
        return f"unparsable: {exc}"
    if activity.actor != actor.uri:
        # The inbox lets through only a forwarded Create, Update or Delete (signed by `actor`,
        # another account), and nothing in it is believed. A Create's object is fetched by id
        # from its origin and stored as fetched (checklist 23); an Update or a Delete goes to
        # its handler with the signer as the actor: the object is not the signer's, so the
        # handler applies only what the object's origin says (checklists 24, 25).
        if activity.type == "Create" and activity.object_id is not None:
            fetched = await dereference.fetch_note(ctx.container, activity.object_id)
            return None if fetched is not None else "forwarded: object not fetched from its origin"
        if activity.type not in FORWARDED_TO_HANDLERS:
            return "actor mismatch"
    handler = handler_for(activity.type)
    if handler is None:
        return f"unknown type {activity.type}"
    context = IngressContext(job=ctx, actor=actor, raw=row.raw)
    try:
        return await handler(context, activity)
    except KinfolkError as exc:
        # A rule of the domain said no (blocked, not visible, ...): nothing to retry. Services
        # check before they write, so nothing half-done is committed with the mark.
        return f"refused: {exc.__class__.__name__} {exc}"[:255]
