"""Poll rules: Mastodon's limits on options and expiry, voting, and remote polls' counts.

A local poll's counts are ours, kept in step with `poll_votes`. A remote poll's counts are its
origin's: stored from its `Question` and replaced by each of its author's `Update`s
(`RemotePollState`); a local vote on it is added at once (the voter sees it counted) and sent
to the origin, whose next `Update` carries it in the true totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable

MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300
MAX_EXPIRATION = 2_629_746


@dataclass(frozen=True)
class RemotePollState:
    """What a remote poll's origin says of it (`endTime`/`closed`, each option's
    `replies.totalItems`, `votersCount`): stored as it is, never recounted here."""

    expires_at: datetime | None
    tallies: tuple[int, ...] = ()
    voters_count: int | None = None


@dataclass
class PollParams:
    options: list[str] = field(default_factory=list)
    expires_in: int = 86400
    multiple: bool = False
    hide_totals: bool = False
    # A remote poll: its end and counts as its origin gave them (`expires_in` is then unused).
    remote: RemotePollState | None = None


def validate_poll(params: PollParams, *, max_options: int) -> None:
    options = [o.strip() for o in params.options]
    if len(options) < 2:
        raise Unprocessable("Validation failed: Poll must have at least 2 options")
    if len(options) > max_options:
        raise Unprocessable(f"Validation failed: Poll can't contain more than {max_options} items")
    if any(not o for o in options):
        raise Unprocessable("Validation failed: Poll options can't be blank")
    if any(len(o) > MAX_OPTION_CHARS for o in options):
        raise Unprocessable(
            f"Validation failed: Poll options can't be longer than {MAX_OPTION_CHARS} characters"
        )
    if len(set(options)) != len(options):
        raise Unprocessable("Validation failed: Poll contains duplicate items")
    if params.expires_in < MIN_EXPIRATION:
        raise Unprocessable("Validation failed: Poll expiration too soon")
    if params.expires_in > MAX_EXPIRATION:
        raise Unprocessable("Validation failed: Poll expiration too far in the future")


def build_poll(account_id: int, params: PollParams) -> Poll:
    options = [o.strip() for o in params.options]
    poll = Poll(
        account_id=account_id,
        options=options,
        cached_tallies=[0] * len(options),
        multiple=params.multiple,
        hide_totals=params.hide_totals,
        expires_at=utcnow() + timedelta(seconds=params.expires_in),
        votes_count=0,
        voters_count=0,
        notified=False,
    )
    if params.remote is not None:
        apply_remote_state(poll, params.remote)
        # A poll that had ended before it reached us has no local voter to tell.
        poll.notified = is_expired(poll)
    return poll


def apply_remote_state(poll: Poll, state: RemotePollState) -> bool:
    """Take the origin's end and counts (one tally per option, missing ones as zero, as
    Mastodon reads them); the total of votes is the tallies' sum. Returns whether anything
    changed."""
    size = len(poll.options or [])
    tallies = [max(0, int(t)) for t in state.tallies[:size]] + [0] * max(0, size - len(state.tallies))
    votes = sum(tallies)
    if state.voters_count is not None:
        voters = max(0, state.voters_count)
    else:
        # Single-choice: one vote per voter. Multiple-choice without a count: unknown, none shown.
        voters = votes if not poll.multiple else 0
    before = (list(poll.cached_tallies or []), poll.votes_count, poll.voters_count, poll.expires_at)
    after = (tallies, votes, voters, state.expires_at)
    if before == after:
        return False
    poll.cached_tallies = tallies
    poll.votes_count = votes
    poll.voters_count = voters
    if poll.expires_at != state.expires_at:
        poll.expires_at = state.expires_at
        # A new end (a poll reopened, or closed early) is announced again when it passes.
        poll.notified = is_expired(poll) and bool(poll.notified)
    poll.updated_at = utcnow()
    return True


async def replace_remote_options(
    session: AsyncSession, poll: Poll, options: list[str], multiple: bool
) -> None:
    """The author edited the poll's options: the votes cast on the old ones no longer mean
    anything (Mastodon drops them too)."""
    await session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
    poll.options = list(options)
    poll.multiple = multiple
    poll.cached_tallies = [0] * len(options)
    poll.votes_count = 0
    poll.voters_count = 0


def is_expired(poll: Poll) -> bool:
    return poll.expires_at is not None and poll.expires_at <= utcnow()


async def own_votes(session: AsyncSession, account_id: int, poll_ids: list[int]) -> dict[int, list[int]]:
    if not poll_ids:
        return {}
    result = await session.execute(
        select(PollVote.poll_id, PollVote.choice)
        .where(PollVote.account_id == account_id, PollVote.poll_id.in_(poll_ids))
        .order_by(PollVote.id)
    )
    out: dict[int, list[int]] = {}
    for poll_id, choice in result.all():
        out.setdefault(poll_id, []).append(choice)
    return out


async def vote(
    session: AsyncSession, poll: Poll, account_id: int, choices: list[int], *, uri: str | None = None
) -> list[PollVote]:
    """Cast `account_id`'s votes (a remote voter's arrive one `Create` each, `uri` its id).
    The poll's row is read again under a lock first, so concurrent votes (a burst of remote
    ones through several workers) each add to the counts the previous one left. Returns the
    votes made."""
    await session.refresh(poll, with_for_update=True)
    if is_expired(poll):
        raise Unprocessable("Validation failed: The poll has already ended")
    choices = list(dict.fromkeys(choices))
    if not choices:
        raise Unprocessable("Validation failed: You need to pick at least one option")
    if not poll.multiple and len(choices) > 1:
        raise Unprocessable("Validation failed: You can only pick one option")
    if any(c < 0 or c >= len(poll.options) for c in choices):
        raise Unprocessable("Validation failed: That option does not exist")
    previous = set(
        (
            await session.execute(
                select(PollVote.choice).where(PollVote.poll_id == poll.id, PollVote.account_id == account_id)
            )
        ).scalars()
    )
    # A single-choice poll takes one vote; a multiple-choice one takes more, each choice once.
    if previous and not poll.multiple:
        raise Unprocessable("Validation failed: You have already voted on this poll")
    if previous & set(choices):
        raise Unprocessable("Validation failed: You have already voted for this option")
    made = [PollVote(poll_id=poll.id, account_id=account_id, choice=choice, uri=uri) for choice in choices]
    session.add_all(made)
    tallies = list(poll.cached_tallies or [0] * len(poll.options))
    for choice in choices:
        tallies[choice] += 1
    poll.cached_tallies = tallies
    poll.votes_count += len(choices)
    if not previous:
        poll.voters_count += 1
    poll.updated_at = utcnow()
    await session.flush()
    return made
