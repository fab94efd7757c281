"""Reads of statuses for the API: single, threads, lists of interactions, profile timelines.

Every listing applies the visibility policy in SQL (`visible_to`), so paging never leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.relationships.models import Block
from kinfolk.domain.statuses.models import Bookmark, Favourite, IdempotencyKey, Status, StatusPin
from kinfolk.domain.tags.models import StatusTag
from kinfolk.domain.visibility import account_exists, can_see, visible_to
from kinfolk.kernel.errors import NotFound
from kinfolk.kernel.paging import Page
from kinfolk.text.compose import normalize_tag

MAX_THREAD = 4096


async def find_visible(session: AsyncSession, status_id: int, viewer_id: int | None) -> Status | None:
    status = await session.get(Status, status_id)
    if status is None or not await can_see(session, status, viewer_id):
        return None
    return status


async def find_visible_many(session: AsyncSession, ids: list[int], viewer_id: int | None) -> list[Status]:
    if not ids:
        return []
    result = await session.execute(
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(Status.id.in_(ids), Account.suspended_at.is_(None), visible_to(viewer_id))
    )
    found = {s.id: s for s in result.scalars()}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


async def by_idempotency_key(session: AsyncSession, account_id: int, key: str) -> Status | None:
    result = await session.execute(
        select(Status)
        .join(IdempotencyKey, IdempotencyKey.status_id == Status.id)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )
    return result.scalar_one_or_none()


async def thread(
    session: AsyncSession, status: Status, viewer_id: int | None
) -> tuple[list[Status], list[Status]]:
    """Ancestors (oldest first) and descendants (depth-first, in reply order) the viewer may see."""
    ancestors: list[Status] = []
    seen = {status.id}
    parent_id = status.in_reply_to_id
    while parent_id is not None and parent_id not in seen and len(ancestors) < MAX_THREAD:
        parent = await session.get(Status, parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        if await can_see(session, parent, viewer_id):
            ancestors.append(parent)
        parent_id = parent.in_reply_to_id
    ancestors.reverse()

    # Descendants share the conversation: one query for the candidates, then walk the tree.
    descendants: list[Status] = []
    if status.conversation_id is not None:
        result = await session.execute(
            select(Status)
            .join(Account, Account.id == Status.account_id)
            .where(
                Status.conversation_id == status.conversation_id,
                Status.in_reply_to_id.is_not(None),
                Status.reblog_of_id.is_(None),
                Account.suspended_at.is_(None),
                visible_to(viewer_id),
            )
            .order_by(Status.id)
            .limit(MAX_THREAD)
        )
        children: dict[int, list[Status]] = {}
        for candidate in result.scalars():
            assert candidate.in_reply_to_id is not None
            children.setdefault(candidate.in_reply_to_id, []).append(candidate)
        stack = list(reversed(children.get(status.id, [])))
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            descendants.append(node)
            stack.extend(reversed(children.get(node.id, [])))
    return ancestors, descendants


async def interacted_by(
    session: AsyncSession, status_id: int, kind: str, page: Page
) -> list[tuple[int, Account]]:
    if kind == "favourite":
        stmt = (
            select(Favourite.id, Account)
            .join(Account, Account.id == Favourite.account_id)
            .where(Favourite.status_id == status_id)
        )
        column: Any = Favourite.id
    else:
        stmt = (
            select(Status.id, Account)
            .join(Account, Account.id == Status.account_id)
            .where(
                Status.reblog_of_id == status_id,
                Status.deleted_at.is_(None),
                # A followers-only boost (an author boosting their own private post) isn't listed.
                Status.visibility.in_(("public", "unlisted")),
            )
        )
        column = Status.id
    stmt = stmt.where(Account.suspended_at.is_(None))
    rows = (await session.execute(page.apply(stmt, column))).all()
    return [(row[0], row[1]) for row in page.arrange(rows)]


async def own_interactions(
    session: AsyncSession, account_id: int, kind: str, page: Page
) -> list[tuple[int, Status]]:
    model: Any = Favourite if kind == "favourite" else Bookmark
    stmt = (
        select(model.id, Status)
        .join(Status, Status.id == model.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(model.account_id == account_id, Account.suspended_at.is_(None), visible_to(account_id))
    )
    rows = (await session.execute(page.apply(stmt, model.id))).all()
    return [(row[0], row[1]) for row in page.arrange(rows)]


async def visible_poll(session: AsyncSession, poll_id: int, viewer_id: int | None) -> tuple[Poll, Status]:
    poll = await session.get(Poll, poll_id)
    if poll is None or poll.status_id is None:
        raise NotFound()
    status = await session.get(Status, poll.status_id)
    if status is None or not await can_see(session, status, viewer_id):
        raise NotFound()
    return poll, status


@dataclass(frozen=True)
class ProfileFilter:
    pinned: bool = False
    only_media: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    exclude_direct: bool = False
    tagged: str | None = None


async def account_statuses(
    session: AsyncSession, account_id: int, viewer_id: int | None, page: Page, filters: ProfileFilter
) -> list[Status]:
    """A profile's statuses, with Mastodon's profile filters applied."""
    author = (
        await session.execute(select(Account).where(Account.id == account_id, account_exists()))
    ).scalar_one_or_none()
    if author is None:
        raise NotFound()
    if author.suspended_at is not None:
        return []
    if viewer_id is not None and viewer_id != account_id:
        blocked = await session.execute(
            select(Block.id).where(
                or_(
                    and_(Block.account_id == account_id, Block.target_account_id == viewer_id),
                    and_(Block.account_id == viewer_id, Block.target_account_id == account_id),
                )
            )
        )
        if blocked.first() is not None:
            return []
    stmt = select(Status).where(Status.account_id == account_id, visible_to(viewer_id))
    if filters.pinned:
        stmt = stmt.join(
            StatusPin, and_(StatusPin.status_id == Status.id, StatusPin.account_id == account_id)
        )
    if filters.only_media:
        from kinfolk.domain.media.models import MediaAttachment

        stmt = stmt.where(exists().where(MediaAttachment.status_id == Status.id))
    if filters.exclude_replies:
        stmt = stmt.where(or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == account_id))
    if filters.exclude_direct:
        stmt = stmt.where(Status.visibility != "direct")
    if filters.exclude_reblogs:
        stmt = stmt.where(Status.reblog_of_id.is_(None))
    tagged = filters.tagged
    if tagged and tagged.strip():
        from kinfolk.domain.tags.models import Tag

        stmt = stmt.where(
            exists().where(
                StatusTag.status_id == Status.id,
                StatusTag.tag_id
                == select(Tag.id)
                .where(Tag.name == normalize_tag(tagged.strip().lstrip("#")))
                .scalar_subquery(),
            )
        )
    result = await session.execute(page.apply(stmt, Status.id))
    return page.arrange(list(result.scalars()))
