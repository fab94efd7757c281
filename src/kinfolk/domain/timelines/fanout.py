"""Fan-out on write: a new status goes into the home feeds (and lists) of the local accounts that
should see it, as set-based INSERT ... SELECT statements rather than a row per follower in Python.

Who gets it (as Mastodon decides): the author; local followers for public, unlisted and private
posts; only mentioned followers for direct posts; local followers of its hashtags for public
posts. Never someone who blocks or mutes the author (or, for a boost, the boosted author), never
a boost from a follow with boosts hidden, never a boost of something already in the feed, and a
reply only for those who follow the replied-to account too.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.relationships.models import Block, Follow, Mute
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.tags.models import StatusTag, TagFollow
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount, ListFeedEntry
from kinfolk.kernel.clock import utcnow


def _silenced_by_recipient(recipient: object, author_ids: list[int]) -> list[object]:
    """Conditions: the recipient neither blocks nor mutes any of `author_ids`, nor is blocked by them."""
    now = utcnow()
    return [
        ~exists().where(Block.account_id == recipient, Block.target_account_id.in_(author_ids)),
        ~exists().where(Block.target_account_id == recipient, Block.account_id.in_(author_ids)),
        ~exists().where(
            Mute.account_id == recipient,
            Mute.target_account_id.in_(author_ids),
            or_(Mute.expires_at.is_(None), Mute.expires_at > now),
        ),
    ]


async def fan_out(session: AsyncSession, status: Status) -> None:
    """Insert feed rows for `status`; running it twice inserts nothing new."""
    if status.deleted_at is not None:
        return
    original: Status | None = None
    if status.reblog_of_id is not None:
        original = await session.get(Status, status.reblog_of_id)
        if original is None or original.deleted_at is not None:
            return
    author_ids = [status.account_id] + ([original.account_id] if original else [])
    base_values = {
        "status_id": literal(status.id),
        "origin_account_id": literal(status.account_id),
        "reblog_of_id": literal(status.reblog_of_id),
    }
    recipient = Follow.account_id
    conditions = [
        Follow.target_account_id == status.account_id,
        exists().where(User.account_id == Follow.account_id),
        *_silenced_by_recipient(recipient, author_ids[1:]),
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
    columns = ["account_id", "status_id", "origin_account_id", "reblog_of_id"]
    unrestricted = select(recipient, *base_values.values()).where(
        *conditions, Follow.languages.is_(None) | literal(status.language is None)
    )
    await session.execute(
        insert_for(session, HomeFeedEntry).from_select(columns, unrestricted).on_conflict_do_nothing()
    )
    if status.language is not None:
        # Follows limited to some languages are few; their JSON lists are checked in Python.
        limited = (
            await session.execute(
                select(Follow.account_id, Follow.languages).where(*conditions, Follow.languages.is_not(None))
            )
        ).all()
        wanted = [account_id for account_id, languages in limited if status.language in (languages or [])]
        if wanted:
            chosen = select(recipient, *base_values.values()).where(*conditions, recipient.in_(wanted))
            await session.execute(
                insert_for(session, HomeFeedEntry).from_select(columns, chosen).on_conflict_do_nothing()
            )
    author = await session.get(Account, status.account_id)
    if author is not None and author.domain is None:
        await session.execute(
            insert_for(session, HomeFeedEntry)
            .values(
                account_id=status.account_id,
                status_id=status.id,
                origin_account_id=status.account_id,
                reblog_of_id=status.reblog_of_id,
            )
            .on_conflict_do_nothing()
        )
    if status.visibility == "public" and status.reblog_of_id is None:
        await _fan_out_to_tag_followers(session, status, author_ids)
    if status.visibility in ("public", "unlisted", "private"):
        await _fan_out_to_lists(session, status, author_ids)


async def _fan_out_to_tag_followers(session: AsyncSession, status: Status, author_ids: list[int]) -> None:
    recipient = TagFollow.account_id
    query = (
        select(recipient, literal(status.id), literal(status.account_id), literal(None))
        .distinct()
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .where(StatusTag.status_id == status.id, *_silenced_by_recipient(recipient, author_ids))
    )
    await session.execute(
        insert_for(session, HomeFeedEntry)
        .from_select(["account_id", "status_id", "origin_account_id", "reblog_of_id"], query)
        .on_conflict_do_nothing()
    )


async def _fan_out_to_lists(session: AsyncSession, status: Status, author_ids: list[int]) -> None:
    owner = List.account_id
    conditions = [ListAccount.account_id == status.account_id, *_silenced_by_recipient(owner, author_ids[1:])]
    if status.visibility == "private":
        conditions.append(
            exists().where(Follow.account_id == owner, Follow.target_account_id == status.account_id)
        )
    if status.in_reply_to_account_id is not None and status.in_reply_to_account_id != status.account_id:
        # replies_policy: "none" never shows replies; "list" only to list members; "followed" to followed.
        in_list = exists().where(
            ListAccount.__table__.alias("la2").c.list_id == List.id,
            ListAccount.__table__.alias("la2").c.account_id == status.in_reply_to_account_id,
        )
        followed = exists().where(
            Follow.account_id == owner, Follow.target_account_id == status.in_reply_to_account_id
        )
        conditions.append(
            or_(
                and_(List.replies_policy == "list", in_list),
                and_(List.replies_policy == "followed", followed),
            )
        )
    query = (
        select(List.id, literal(status.id), literal(status.account_id))
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(*conditions)
    )
    await session.execute(
        insert_for(session, ListFeedEntry)
        .from_select(["list_id", "status_id", "origin_account_id"], query)
        .on_conflict_do_nothing()
    )


async def remove_from_feeds(session: AsyncSession, status_id: int) -> None:
    await session.execute(delete(HomeFeedEntry).where(HomeFeedEntry.status_id == status_id))
    await session.execute(delete(ListFeedEntry).where(ListFeedEntry.status_id == status_id))
