"""The Poll entity."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import is_expired, own_votes
from kinfolk.kernel.clock import iso


def render_poll(poll: Poll, own_votes: list[int] | None, *, is_owner: bool = False) -> dict[str, Any]:
    expired = is_expired(poll)
    show_totals = not poll.hide_totals or expired or is_owner
    tallies = list(poll.cached_tallies or [0] * len(poll.options))
    body: dict[str, Any] = {
        "id": str(poll.id),
        "expires_at": iso(poll.expires_at),
        "expired": expired,
        "multiple": poll.multiple,
        "votes_count": poll.votes_count,
        "voters_count": poll.voters_count if poll.multiple else None,
        "options": [
            {"title": title, "votes_count": tallies[i] if show_totals and i < len(tallies) else None}
            for i, title in enumerate(poll.options)
        ],
        "emojis": [],
    }
    if own_votes is not None:
        body["voted"] = bool(own_votes) or is_owner
        body["own_votes"] = list(own_votes)  # in the order they were cast, as Mastodon lists them
    return body


async def render_poll_for(session: AsyncSession, poll: Poll, viewer_id: int | None) -> dict[str, Any]:
    votes = (
        (await own_votes(session, viewer_id, [poll.id])).get(poll.id, []) if viewer_id is not None else None
    )
    return render_poll(poll, votes, is_owner=poll.account_id == viewer_id)
