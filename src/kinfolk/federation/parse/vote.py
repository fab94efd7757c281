"""A vote on a poll, as other servers send it: a `Note` (Pleroma's own word is `Answer`) with
`name` = the chosen option's title and `inReplyTo` = the `Question`, usually without content.
Whether it is a vote at all depends on what it answers (a local poll having that option), which
`federation/votes.py` decides; this only reads the fields, within caps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kinfolk.federation.parse.object import MAX_OPTION_NAME, attributed_actor
from kinfolk.federation.parse.values import first_id, first_type, https_url, text

VOTE_TYPES = ("Note", "Answer")


@dataclass(frozen=True, slots=True)
class ParsedVote:
    id: str
    attributed_to: str | None
    name: str
    in_reply_to: str


def parse_vote(doc: object) -> ParsedVote | None:
    """The vote `doc` may be, or None when it lacks what a vote needs (then it is no vote)."""
    if not isinstance(doc, Mapping) or first_type(doc, VOTE_TYPES) is None:
        return None
    vote_id = https_url(doc.get("id"))
    name = text(doc.get("name"), MAX_OPTION_NAME)
    in_reply_to = first_id(doc.get("inReplyTo"))
    if vote_id is None or name is None or in_reply_to is None:
        return None
    return ParsedVote(
        id=vote_id,
        attributed_to=attributed_actor(doc.get("attributedTo")),
        name=name,
        in_reply_to=in_reply_to,
    )
