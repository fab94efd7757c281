"""Poll rules: Mastodon's limits on options and expiry, and voting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable

MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300
MAX_EXPIRATION = 2_629_746


@dataclass
class PollParams:
    options: list[str] = field(default_factory=list)
    expires_in: int = 86400
    multiple: bool = False
    hide_totals: bool = False


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
    return Poll(
        account_id=account_id,
        options=options,
        cached_tallies=[0] * len(options),
        multiple=params.multiple,
        hide_totals=params.hide_totals,
        expires_at=utcnow() + timedelta(seconds=params.expires_in),
        votes_count=0,
        voters_count=0,
    )


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


async def vote(session: AsyncSession, poll: Poll, account_id: int, choices: list[int]) -> None:
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
    for choice in choices:
        session.add(PollVote(poll_id=poll.id, account_id=account_id, choice=choice))
    tallies = list(poll.cached_tallies or [0] * len(poll.options))
    for choice in choices:
        tallies[choice] += 1
    poll.cached_tallies = tallies
    poll.votes_count += len(choices)
    if not previous:
        poll.voters_count += 1
    await session.flush()
