"""A poll voted across three real Kinfolk servers, as their users see it through Mastodon.py:
alice on alpha asks, bob on beta and carol on gamma vote, and all three servers show the same
counts (each vote goes to alpha as a `Create` of a Note with `name`; alpha counts it and sends
the new counts to the voters' servers and alice's followers in a debounced `Update`). A vote
that reaches alpha after the poll ended is refused there.

The servers run with `KINFOLK_POLL_UPDATE_DELAY=1` (one second between count updates instead
of Mastodon's three minutes). The end of the poll is brought forward in alpha's database alone
(polls last at least five minutes), so gamma still takes the late vote and sends it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from mastodon import MastodonAPIError
from sqlalchemy import update

from kinfolk.db.database import Database
from kinfolk.domain.polls.models import Poll
from kinfolk.kernel.clock import utcnow
from tests.federation.conftest import StartFederation
from tests.federation.harness import Server, User, wait_until
from tests.federation.social import find_status, follow, notifications, wait_in_home


def counts(user: User, poll_id: Any) -> list[int]:
    return [option["votes_count"] for option in user.api.poll(poll_id)["options"]]


def end_poll_now(server: Server, poll_id: int) -> None:
    """The poll's end moved to the past in `server`'s own database (its copy only)."""

    async def run() -> None:
        db = Database(server.database_url, pool_size=1, checkpoints=False)
        try:
            async with db.uow() as uow:
                await uow.session.execute(
                    update(Poll).where(Poll.id == poll_id).values(expires_at=utcnow() - timedelta(seconds=1))
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def test_a_poll_voted_across_three_servers(start_federation: StartFederation) -> None:
    fed = start_federation(["alpha", "beta", "gamma"], env={"KINFOLK_POLL_UPDATE_DELAY": "1"})
    alice = fed["alpha"].create_user("alice_poll")
    bob = fed["beta"].create_user("bob_poll")
    carol = fed["gamma"].create_user("carol_poll")
    dave = fed["gamma"].create_user("dave_poll")
    follow(bob, alice)
    follow(carol, alice)

    posted = alice.api.status_post(
        "Tea, coffee or water?", poll=alice.api.make_poll(["tea", "coffee", "water"], 3600)
    )
    uri = posted["uri"]
    on_beta = wait_in_home(bob, uri)
    on_gamma = wait_in_home(carol, uri)
    assert [o["title"] for o in on_beta["poll"]["options"]] == ["tea", "coffee", "water"]
    assert on_gamma["poll"]["expires_at"] is not None

    voted = bob.api.poll_vote(on_beta["poll"]["id"], [1])
    assert voted["own_votes"] == [1] and [o["votes_count"] for o in voted["options"]] == [0, 1, 0]
    carol.api.poll_vote(on_gamma["poll"]["id"], [0])

    alpha_poll = posted["poll"]["id"]
    wait_until(lambda: counts(alice, alpha_poll) == [1, 1, 0], what="both votes counted on alpha")
    # Each server shows alpha's counts: bob's server learns carol's vote and carol's bob's.
    wait_until(lambda: counts(bob, on_beta["poll"]["id"]) == [1, 1, 0], what="the counts on beta")
    wait_until(lambda: counts(carol, on_gamma["poll"]["id"]) == [1, 1, 0], what="the counts on gamma")
    shown = alice.api.poll(alpha_poll)
    assert shown["votes_count"] == 2 and shown["expired"] is False
    assert bob.api.poll(on_beta["poll"]["id"])["votes_count"] == 2
    # A second vote by the same voter is refused by their own server; nothing changes.
    with pytest.raises(MastodonAPIError):
        bob.api.poll_vote(on_beta["poll"]["id"], [2])
    assert counts(alice, alpha_poll) == [1, 1, 0]

    # The poll ends on alpha; gamma does not know yet, takes dave's vote and sends it.
    end_poll_now(fed["alpha"], int(alpha_poll))
    dave_copy = find_status(dave, uri)
    late = dave.api.poll_vote(dave_copy["poll"]["id"], [2])
    assert late["own_votes"] == [2]
    # Something dave sends alpha after the vote arrives; by then the vote was refused there.
    dave.api.status_favourite(dave_copy["id"])
    wait_until(
        lambda: any(n["status"]["uri"] == uri for n in notifications(alice, "favourite")),
        what="dave's favourite on alpha",
    )
    wait_until(lambda: alice.api.poll(alpha_poll)["expired"], what="the poll ended on alpha")
    assert counts(alice, alpha_poll) == [1, 1, 0]
    assert alice.api.poll(alpha_poll)["votes_count"] == 2
