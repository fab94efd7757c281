"""What the domain tells the federation side: "this happened, tell whoever must know".

The domain never imports federation (ARCHITECTURE.md, layers); it enqueues a
`federation.distribute` job in the same unit of work as the change, naming the activity type and
the ids the federation side needs to render it and plan its recipients. A rollback publishes
nothing, a commit cannot lose it. Call sites check cheaply that a remote party may be involved,
so purely local actions cost no job.

Payload shapes, by `type` (every id an int; kinfolk/federation/distribute.py reads them):

    Create    {status_id}                                  a local status with a remote audience
    Announce  {status_id}                                  a local boost (status_id is the boost)
    Update    {status_id}                                  a local status edited
    Update    {object_type: "Person", account_id}          a local profile changed
    Update    {object_type: "Question", status_id}         a local poll's counts changed (debounced,
              `poll_counts_changed`) or it ended
    Create    {object_type: "Vote", vote_id}               a local vote on a remote poll
    Delete    {status_id, account_id, uri, visibility, mentioned_ids}   a local status deleted
    Delete    {object_type: "Person", account_id, inboxes}   a local account deleted (inboxes:
              its followers' and followed accounts', taken before the follows go)
    Undo      {object_type: "Announce", status_id, account_id, uri, reblog_of_id, visibility}
    Add       {account_id, status_id, pin_id}              a local account pinned its post
    Remove    {account_id, status_id, pin_id}              ... and unpinned it
    Like      {account_id, status_id, favourite_id}        a local account liked a remote status
    Undo      {object_type: "Like", account_id, status_id, favourite_id}
    Follow    {account_id, target_id, request_id}          asking a remote account
    Follow    {object_type: "Relay", relay_id}             the instance actor subscribes to a relay
    Undo      {object_type: "Relay", inbox_url, follow_activity_id, object}   and unsubscribes
    Undo      {object_type: "Follow", account_id, target_id, follow_id, follow_uri}
    Accept    {account_id, target_id, follow_id, follow_uri}   a local account accepts a remote
    Reject    {account_id, target_id, follow_id, follow_uri}   follower (or removes / refuses one)
    Block     {account_id, target_id, block_id}
    Flag      {report_id}                                  a local report forwarded to the
              reported remote account's server (signed by the instance actor)
    Undo      {object_type: "Block", account_id, target_id, block_id}

`account_id` is always the local actor; `target_id` the remote account. A relay's `Follow` and
`Undo` are the instance actor's (`domain/instance/relays.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance.models import Relay
from kinfolk.domain.polls.models import PollVote
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Favourite, Mention, Status
from kinfolk.kernel.clock import utcnow

DISTRIBUTE = "federation.distribute"


async def publish(uow: UnitOfWork, kind: str, payload: dict[str, Any]) -> None:
    """Enqueue the distribution of one activity of type `kind` (see the module's table)."""
    await uow.enqueue(DISTRIBUTE, {"type": kind, **payload})


async def reaches_remote(
    session: AsyncSession, account_id: int, status_id: int | None = None, *, interactions: bool = False
) -> bool:
    """Does the account have a remote follower, or the status mention a remote account? With
    `interactions` (an edit: it goes wherever the post went), also: did a remote account
    favourite, boost or reply to the status, or is it a reply to a remote account's post? A
    public post (not a boost) also reaches the relays that accepted us. One query."""
    remote_follower = exists().where(
        Follow.target_account_id == account_id,
        Follow.account_id == Account.id,
        Account.domain.is_not(None),
    )
    condition: ColumnElement[bool] = remote_follower
    if status_id is not None:
        remote_mention = exists().where(
            Mention.status_id == status_id, Mention.account_id == Account.id, Account.domain.is_not(None)
        )
        relayed = exists().where(Relay.state == "accepted") & exists().where(
            Status.id == status_id, Status.visibility == "public", Status.reblog_of_id.is_(None)
        )
        condition = remote_follower | remote_mention | relayed
    if status_id is not None and interactions:
        remote = Account.domain.is_not(None)
        others = aliased(Status)
        condition = (
            condition
            | exists().where(Favourite.status_id == status_id, Favourite.account_id == Account.id, remote)
            | exists().where(
                others.account_id == Account.id,
                remote,
                (others.reblog_of_id == status_id) | (others.in_reply_to_id == status_id),
            )
            | exists().where(Status.id == status_id, Status.in_reply_to_account_id == Account.id, remote)
        )
    return bool((await session.execute(select(condition))).scalar())


async def remote_mentions(session: AsyncSession, status_id: int) -> list[int]:
    """Ids of the remote accounts a status mentions."""
    stmt = (
        select(Mention.account_id)
        .join(Account, Account.id == Mention.account_id)
        .where(Mention.status_id == status_id, Account.domain.is_not(None))
    )
    return list((await session.execute(stmt)).scalars())


async def reach_inboxes(session: AsyncSession, account_id: int, limit: int) -> list[str]:
    """The distinct inboxes (shared ones where there are) of the remote accounts that follow the
    account or that it follows, at most `limit`, in a stable order: those a deleted account's
    `Delete` must reach first, read before its follows are removed."""
    stmt = (
        select(func.coalesce(Account.shared_inbox_url, Account.inbox_url).label("inbox"))
        .join(Follow, or_(Follow.account_id == Account.id, Follow.target_account_id == Account.id))
        .where(
            or_(Follow.account_id == account_id, Follow.target_account_id == account_id),
            Account.id != account_id,
            Account.domain.is_not(None),
            Account.suspended_at.is_(None),
        )
        .distinct()
        .order_by("inbox")
        .limit(limit)
    )
    return [url for url in (await session.execute(stmt)).scalars() if url]


async def profile_updated(uow: UnitOfWork, account_id: int) -> None:
    """A local profile changed: servers holding a copy refresh it. Always published (profile
    changes are rare): who holds a copy (remote followers, and accounts it recently mentioned,
    replied to, boosted or followed) is the federation job's to work out."""
    await publish(uow, "Update", {"object_type": "Person", "account_id": account_id})


async def poll_counts_changed(
    uow: UnitOfWork, *, status_id: int, poll_id: int, author_id: int, delay: float, remote_voter: bool
) -> None:
    """A local poll got a vote: the servers holding a copy (its voters', the author's
    followers') get an `Update` with the new counts. Debounced as Mastodon does (one update a
    few minutes after a vote, not one per vote): votes within one slot of `delay` seconds share
    one job, due at the slot's end, which renders the counts as they are then. Nothing is
    queued when no remote server holds a copy (one query or two)."""
    if not remote_voter and not await _poll_held_remotely(uow.session, status_id, poll_id, author_id):
        return
    step = max(delay, 0.001)
    slot = int(utcnow().timestamp() // step)
    await uow.enqueue(
        DISTRIBUTE,
        {"type": "Update", "object_type": "Question", "status_id": status_id},
        run_at=datetime.fromtimestamp((slot + 1) * step, UTC),
        dedup_key=f"poll-update:{poll_id}:{slot}",
    )


async def poll_ended(uow: UnitOfWork, *, status_id: int, poll_id: int, author_id: int) -> None:
    """A local poll ended: its final counts, marked closed, go where its copies are (Mastodon
    sends this update when it notifies the poll's end)."""
    if await _poll_held_remotely(uow.session, status_id, poll_id, author_id):
        await publish(uow, "Update", {"object_type": "Question", "status_id": status_id})


async def _poll_held_remotely(session: AsyncSession, status_id: int, poll_id: int, author_id: int) -> bool:
    """Has a remote account voted on the poll, or does the status reach another server?"""
    remote_voters = exists().where(
        PollVote.poll_id == poll_id, PollVote.account_id == Account.id, Account.domain.is_not(None)
    )
    if (await session.execute(select(remote_voters))).scalar():
        return True
    return await reaches_remote(session, author_id, status_id)
