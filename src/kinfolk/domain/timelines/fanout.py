"""Fan-out on write: a new status goes into the home feeds (and lists) of the local accounts that
should see it, as set-based INSERT ... SELECT statements rather than a row per follower in Python.

Who gets it (as Mastodon decides): the author; local followers for public, unlisted and private
posts; only mentioned followers for direct posts; local followers of its hashtags for public
posts. Never someone who blocks or mutes the author (or, for a boost, the boosted author), or
who blocks or mutes an account the status mentions; never a follower who keeps the author in an
exclusive list (the list shows it instead); never a boost from a follow with boosts hidden, never
a boost of something already in the feed, and a reply only for those who follow the replied-to
account too.

Each INSERT returns the rows it added, so the caller knows exactly whose streams to tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.relationships.models import Block, Follow, Mute
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.tags.models import StatusTag, TagFollow
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount, ListFeedEntry
from kinfolk.kernel.clock import utcnow

_HOME_COLUMNS = ["account_id", "status_id", "origin_account_id", "reblog_of_id"]


@dataclass
class FanOut:
    """Who got the status: home feeds by account id, lists by list id (new rows only)."""

    home: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)


def _silenced_by_recipient(recipient: Any, author_ids: list[int], status_id: int) -> list[Any]:
    """Conditions: the recipient neither blocks nor mutes any of `author_ids` nor anyone the
    status mentions, and is not blocked by an author."""
    now = utcnow()
    live_mute = or_(Mute.expires_at.is_(None), Mute.expires_at > now)
    return [
        ~exists().where(Block.account_id == recipient, Block.target_account_id.in_(author_ids)),
        ~exists().where(Block.target_account_id == recipient, Block.account_id.in_(author_ids)),
        ~exists().where(Mute.account_id == recipient, Mute.target_account_id.in_(author_ids), live_mute),
        ~exists().where(
            Mention.status_id == status_id,
            Block.account_id == recipient,
            Block.target_account_id == Mention.account_id,
        ),
        ~exists().where(
            Mention.status_id == status_id,
            Mute.account_id == recipient,
            Mute.target_account_id == Mention.account_id,
            live_mute,
        ),
    ]


async def fan_out(session: AsyncSession, status: Status) -> FanOut:
    """Insert feed rows for `status`; running it twice inserts (and reports) nothing new."""
    result = FanOut()
    if status.deleted_at is not None:
        return result
    original: Status | None = None
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is None or original.deleted_at is not None:
            return result
    author_ids = [status.account_id] + ([original.account_id] if original else [])
    # Mentions that matter for a boost are the boosted status's.
    mentions_of = original.id if original is not None else status.id
    base_values = [literal(status.id), literal(status.account_id), literal(status.reblog_of_id)]
    recipient = Follow.account_id
    conditions = [
        Follow.target_account_id == status.account_id,
        exists().where(User.account_id == Follow.account_id),
        *_silenced_by_recipient(recipient, author_ids, mentions_of),
        ~exists().where(
            List.account_id == recipient,
            List.exclusive.is_(True),
            ListAccount.list_id == List.id,
            ListAccount.account_id == status.account_id,
        ),
    ]
    if status.visibility == "direct":
        conditions.append(exists().where(Mention.status_id == status.id, Mention.account_id == recipient))
    if original is not None:
        conditions.append(Follow.show_reblogs.is_(True))
        conditions.append(
            ~exists().where(
                HomeFeedEntry.account_id == recipient,
                or_(HomeFeedEntry.status_id == original.id, HomeFeedEntry.reblog_of_id == original.id),
            )
        )
    if status.in_reply_to_account_id is not None and status.in_reply_to_account_id != status.account_id:
        other = Follow.__table__.alias("f2")
        conditions.append(
            or_(
                recipient == status.in_reply_to_account_id,
                exists().where(
                    and_(
                        other.c.account_id == recipient,
                        other.c.target_account_id == status.in_reply_to_account_id,
                    )
                ),
            )
        )
    unrestricted = select(recipient, *base_values).where(
        *conditions, Follow.languages.is_(None) | literal(status.language is None)
    )
    result.home += await _insert_home(session, unrestricted)
    if status.language is not None:
        # Follows limited to some languages are few; their JSON lists are checked in Python.
        limited = (
            await session.execute(
                select(Follow.account_id, Follow.languages).where(*conditions, Follow.languages.is_not(None))
            )
        ).all()
        wanted = [account_id for account_id, languages in limited if status.language in (languages or [])]
        if wanted:
            chosen = select(recipient, *base_values).where(*conditions, recipient.in_(wanted))
            result.home += await _insert_home(session, chosen)
    author = await session.get(Account, status.account_id)
    if author is not None and author.domain is None:
        added = await session.execute(
            insert_for(session, HomeFeedEntry)
            .values(
                account_id=status.account_id,
                status_id=status.id,
                origin_account_id=status.account_id,
                reblog_of_id=status.reblog_of_id,
            )
            .on_conflict_do_nothing()
            .returning(HomeFeedEntry.account_id)
        )
        result.home += list(added.scalars())
    if status.visibility == "public" and status.reblog_of_id is None:
        result.home += await _fan_out_to_tag_followers(session, status, author_ids)
    if status.visibility in ("public", "unlisted", "private"):
        result.lists = await _fan_out_to_lists(session, status, author_ids, mentions_of)
    result.home = list(dict.fromkeys(result.home))
    return result


async def _insert_home(session: AsyncSession, query: Any) -> list[int]:
    added = await session.execute(
        insert_for(session, HomeFeedEntry)
        .from_select(_HOME_COLUMNS, query)
        .on_conflict_do_nothing()
        .returning(HomeFeedEntry.account_id)
    )
    return list(added.scalars())


async def _fan_out_to_tag_followers(
    session: AsyncSession, status: Status, author_ids: list[int]
) -> list[int]:
    recipient = TagFollow.account_id
    query = (
        select(
            recipient, literal(status.id), literal(status.account_id), literal(None, Status.reblog_of_id.type)
        )
        .distinct()
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .where(
            StatusTag.status_id == status.id,
            exists().where(User.account_id == TagFollow.account_id),
            *_silenced_by_recipient(recipient, author_ids, status.id),
        )
    )
    return await _insert_home(session, query)


async def _fan_out_to_lists(
    session: AsyncSession, status: Status, author_ids: list[int], mentions_of: int
) -> list[int]:
    owner = List.account_id
    conditions = [
        ListAccount.account_id == status.account_id,
        *_silenced_by_recipient(owner, author_ids, mentions_of),
    ]
    if status.visibility == "private":
        conditions.append(
            or_(
                owner == status.account_id,
                exists().where(Follow.account_id == owner, Follow.target_account_id == status.account_id),
            )
        )
    if status.reblog_of_id is not None:
        conditions.append(
            ~exists().where(
                ListFeedEntry.list_id == List.id,
                ListFeedEntry.status_id == status.reblog_of_id,
            )
        )
    if status.in_reply_to_account_id is not None and status.in_reply_to_account_id != status.account_id:
        # Replies to the owner always show; otherwise the home rule (the owner follows the
        # replied-to account) holds, and replies_policy narrows it: "followed" keeps those,
        # "list" only replies to list members, "none" nothing else.
        members = ListAccount.__table__.alias("la2")
        in_list = exists().where(
            members.c.list_id == List.id, members.c.account_id == status.in_reply_to_account_id
        )
        followed = exists().where(
            Follow.account_id == owner, Follow.target_account_id == status.in_reply_to_account_id
        )
        conditions.append(
            or_(
                owner == status.in_reply_to_account_id,
                and_(
                    followed,
                    or_(List.replies_policy == "followed", and_(List.replies_policy == "list", in_list)),
                ),
            )
        )
    query = (
        select(List.id, literal(status.id), literal(status.account_id))
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(*conditions)
    )
    added = await session.execute(
        insert_for(session, ListFeedEntry)
        .from_select(["list_id", "status_id", "origin_account_id"], query)
        .on_conflict_do_nothing()
        .returning(ListFeedEntry.list_id)
    )
    return list(dict.fromkeys(added.scalars()))


@dataclass
class Removed:
    """Whose feeds lost a status: account ids and list ids."""

    home: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)


async def remove_from_feeds(session: AsyncSession, status_id: int) -> Removed:
    home = await session.execute(
        delete(HomeFeedEntry).where(HomeFeedEntry.status_id == status_id).returning(HomeFeedEntry.account_id)
    )
    lists = await session.execute(
        delete(ListFeedEntry).where(ListFeedEntry.status_id == status_id).returning(ListFeedEntry.list_id)
    )
    return Removed(home=list(dict.fromkeys(home.scalars())), lists=list(dict.fromkeys(lists.scalars())))
