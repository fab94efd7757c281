"""A remote vote on a local poll (a `Create` of a Note with `name`, in reply to our Question).

Mastodon's reading: the object is a vote when it answers a local status with a poll that has
an option of that title; anything else is an ordinary reply. A vote is counted once per voter
and option (`polls.service.vote`: one choice per voter on a single-choice poll), refused once
the poll has ended or when the voter may not see the poll, and never stored as a status. The
counts then go out to the servers holding a copy (`domain/outbox.poll_counts_changed`).
Runs in the ingress job's unit of work; no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import is_expired
from kinfolk.domain.statuses import interactions
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.visibility import can_see
from kinfolk.federation.parse.vote import ParsedVote
from kinfolk.kernel.errors import Unprocessable

if TYPE_CHECKING:
    from kinfolk.container import Container


@dataclass(frozen=True)
class VoteOutcome:
    """`is_vote` False: the object answers no local poll option (the caller treats it as a
    post). Else `refused` says why it was not counted, or is None when it was."""

    is_vote: bool
    refused: str | None = None


NOT_A_VOTE = VoteOutcome(is_vote=False)


def _refused(reason: str) -> VoteOutcome:
    return VoteOutcome(is_vote=True, refused=reason)


async def receive_vote(
    container: Container, uow: UnitOfWork, voter: Account, vote: ParsedVote
) -> VoteOutcome:
    """Count `vote` when it is one (see `VoteOutcome`)."""
    uris = container.uris
    named = uris.parse_status(vote.in_reply_to) if uris.is_local(vote.in_reply_to) else None
    if named is None:
        return NOT_A_VOTE
    session = uow.session
    status = await session.get(Status, named[1])
    if status is None or not status.local or status.poll_id is None or status.deleted_at is not None:
        return NOT_A_VOTE
    poll = await session.get(Poll, status.poll_id)
    if poll is None or vote.name not in (poll.options or []):
        return NOT_A_VOTE
    if vote.attributed_to is not None and vote.attributed_to != voter.uri:
        return _refused("a vote attributed to someone else than its sender")
    if is_expired(poll):
        return _refused("the poll has ended")
    if not await can_see(session, status, voter.id):
        return _refused("the poll is not visible to the voter")
    try:
        await interactions.vote(
            uow,
            poll,
            voter,
            [poll.options.index(vote.name)],
            update_delay=container.settings.poll_update_delay,
            uri=vote.id,
        )
    except Unprocessable as exc:
        return _refused(str(exc))
    return VoteOutcome(is_vote=True)
