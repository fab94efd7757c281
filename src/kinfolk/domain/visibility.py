"""The one policy that decides who may see a status.

API reads, fan-out, streaming and (later) ActivityPub GETs all ask here, either for one status
(`can_see`) or as a SQL condition for listings (`visible_to`), so the rules cannot drift apart.

- public and unlisted: everyone, except across a block;
- private (followers-only): the author, followers, and mentioned accounts;
- direct: the author and mentioned accounts.
Suspended authors and deleted statuses are visible to no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.relationships.models import Block, Follow
from kinfolk.domain.statuses.models import Mention, Status


@dataclass(frozen=True)
class ViewerFacts:
    """What the policy needs to know about one viewer and one author."""

    is_author: bool = False
    follows_author: bool = False
    mentioned: bool = False
    blocked_either_way: bool = False


def can_see_with(status: Status, facts: ViewerFacts, *, author_suspended: bool = False) -> bool:
    if status.deleted_at is not None or author_suspended:
        return False
    if facts.is_author:
        return True
    if facts.blocked_either_way:
        return False
    if status.visibility in ("public", "unlisted"):
        return True
    if status.visibility == "private":
        return facts.follows_author or facts.mentioned
    return facts.mentioned


async def facts_for(session: AsyncSession, status: Status, viewer_id: int | None) -> ViewerFacts:
    """One round trip: follow, mention and block facts for one viewer and one status."""
    if viewer_id is None:
        return ViewerFacts()
    if viewer_id == status.account_id:
        return ViewerFacts(is_author=True)
    follows = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id)
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id)
    blocked = exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == status.account_id),
            and_(Block.account_id == status.account_id, Block.target_account_id == viewer_id),
        )
    )
    row = (await session.execute(select(follows, mentioned, blocked))).one()
    return ViewerFacts(follows_author=bool(row[0]), mentioned=bool(row[1]), blocked_either_way=bool(row[2]))


async def can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    author = await session.get(Account, status.account_id)
    suspended = author is None or author.suspended_at is not None
    return can_see_with(status, await facts_for(session, status, viewer_id), author_suspended=suspended)


def visible_to(viewer_id: Any, status: type[Status] = Status, *, blocks: bool = True) -> ColumnElement[bool]:
    """A WHERE condition on `statuses` (or an alias) selecting what `viewer_id` (an id, or a
    bound parameter) may see.

    Deleted statuses are excluded; suspended authors are excluded by the listing's join on
    accounts. `blocks=False` leaves out the block check, for a caller that knows the viewer
    neither blocks nor is blocked by anyone.
    """
    not_deleted = status.deleted_at.is_(None)
    if viewer_id is None:
        return and_(not_deleted, status.visibility.in_(("public", "unlisted")))
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id)
    follows = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id)
    blocked = exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == status.account_id),
            and_(Block.account_id == status.account_id, Block.target_account_id == viewer_id),
        )
    )
    by_visibility = or_(
        status.visibility.in_(("public", "unlisted")),
        and_(status.visibility == "private", or_(follows, mentioned)),
        and_(status.visibility == "direct", mentioned),
    )
    if not blocks:
        return and_(not_deleted, or_(status.account_id == viewer_id, by_visibility))
    return and_(
        not_deleted,
        or_(status.account_id == viewer_id, and_(~blocked, by_visibility)),
    )


def account_exists() -> ColumnElement[bool]:
    """Accounts that exist for the outside: all but those whose sign-up awaits approval, which
    are answered for as an unknown id (404), never as refused, so that a probe cannot tell that
    they exist (as `accounts.service.is_hidden` does for one account and its user)."""
    return ~exists().where(User.account_id == Account.id, User.approved.is_(False))


def always(value: bool) -> ColumnElement[bool]:
    return true() if value else false()
