"""A vote on a remote poll: a `Create` of a `Note` whose `name` is the chosen option's title, in
reply to the `Question`, addressed to the poll's author alone (the shape Mastodon sends and
reads). One `Create` per chosen option; ids are fragments of the voter's actor
(`Uris.activity(..., "votes", id)`), never fetched by anyone.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts.models import Account
from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import RenderEnv


def render_vote(
    env: RenderEnv, voter: Account, vote_id: int, option: str, question_uri: str, poll_author_uri: str
) -> dict[str, Any]:
    note_id = env.uris.activity(voter.username, "votes", vote_id)
    voter_uri = env.uris.account_id(voter)
    return with_context(
        {
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": voter_uri,
            "to": poll_author_uri,
            "object": {
                "id": note_id,
                "type": "Note",
                "name": option,
                "attributedTo": voter_uri,
                "inReplyTo": question_uri,
                "to": poll_author_uri,
            },
        }
    )
