"""Favourites, bookmarks, pins, thread mutes and poll votes: small writes with their rules."""

from __future__ import annotations

from sqlalchemy import delete, select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications import repo as notifications_repo
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import vote as cast_vote
from kinfolk.domain.statuses import repo
from kinfolk.domain.statuses.models import Bookmark, ConversationMute, Favourite, Status, StatusPin
from kinfolk.domain.visibility import can_see
from kinfolk.kernel.errors import NotFound, Unprocessable

MAX_PINS = 5
# A remote account's pins are what its `featured` collection lists, read up to this many.
MAX_REMOTE_PINS = 20


async def apply(uow: UnitOfWork, account: Account, status_id: int, action: str) -> Status:
    session = uow.session
    status = await repo.get_status(session, status_id)
    if status is None or not await can_see(session, status, account.id):
        raise NotFound()
    if status.reblog_of_id is not None and action in ("favourite", "unfavourite", "bookmark", "unbookmark"):
        status = await repo.get_status(session, status.reblog_of_id) or status
    if action == "favourite":
        favourite_id = await repo.add_interaction(session, Favourite, account.id, status.id)
        if favourite_id is not None:
            await repo.bump_status_stat(session, status.id, "favourites_count", 1)
            await uow.enqueue("statuses.favourited", {"status_id": status.id, "account_id": account.id})
            if account.domain is None and not status.local:
                like = {"account_id": account.id, "status_id": status.id, "favourite_id": favourite_id}
                await outbox.publish(uow, "Like", like)
    elif action == "unfavourite":
        favourite_id = await repo.remove_interaction(session, Favourite, account.id, status.id)
        if favourite_id is not None:
            await repo.bump_status_stat(session, status.id, "favourites_count", -1)
            await notifications_repo.remove_notifications(
                session, type_="favourite", from_account_id=account.id, status_id=status.id
            )
            if account.domain is None and not status.local:
                undo = {"object_type": "Like", "account_id": account.id, "status_id": status.id}
                await outbox.publish(uow, "Undo", {**undo, "favourite_id": favourite_id})
    elif action == "bookmark":
        await repo.add_interaction(session, Bookmark, account.id, status.id)
    elif action == "unbookmark":
        await repo.remove_interaction(session, Bookmark, account.id, status.id)
    elif action == "pin":
        if status.account_id != account.id or status.reblog_of_id is not None:
            raise Unprocessable("Validation failed: Status can only pin your own posts")
        if status.visibility not in ("public", "unlisted", "private"):
            raise Unprocessable("Validation failed: Status cannot pin private mentions")
        if not await repo.interaction_exists(session, StatusPin, account.id, status.id):
            if await repo.count_pins(session, account.id) >= MAX_PINS:
                raise Unprocessable(f"Validation failed: Status cannot pin more than {MAX_PINS} posts")
            pin_id = await repo.add_interaction(session, StatusPin, account.id, status.id)
            await _publish_pin(uow, "Add", account, status.id, pin_id)
    elif action == "unpin":
        pin_id = await repo.remove_interaction(session, StatusPin, account.id, status.id)
        await _publish_pin(uow, "Remove", account, status.id, pin_id)
    elif action in ("mute", "unmute"):
        if status.conversation_id is None:
            raise Unprocessable("Validation failed: Status has no conversation")
        if action == "mute":
            if not await repo.conversation_muted(session, account.id, status.conversation_id):
                session.add(ConversationMute(account_id=account.id, conversation_id=status.conversation_id))
        else:
            await session.execute(
                delete(ConversationMute).where(
                    ConversationMute.account_id == account.id,
                    ConversationMute.conversation_id == status.conversation_id,
                )
            )
    else:  # pragma: no cover - routes only pass the actions above
        raise ValueError(action)
    await session.flush()
    return status


async def _publish_pin(
    uow: UnitOfWork, kind: str, account: Account, status_id: int, pin_id: int | None
) -> None:
    """A local pin (`Add`) or unpin (`Remove`) goes to the account's remote followers, whose
    servers show its pinned posts (none is queued when it has no remote follower)."""
    if pin_id is None or account.domain is not None:
        return
    if not await outbox.reaches_remote(uow.session, account.id):
        return
    await outbox.publish(uow, kind, {"account_id": account.id, "status_id": status_id, "pin_id": pin_id})


async def vote(
    uow: UnitOfWork,
    poll: Poll,
    account: Account,
    choices: list[int],
    *,
    update_delay: float,
    uri: str | None = None,
) -> None:
    """Count `account`'s votes (`poll.service.vote` says when a vote is refused), then tell
    the other side: a local vote on a remote poll goes to the poll's author as one `Create`
    per choice; a vote on a local poll (from here or elsewhere, `uri` being a remote vote's
    id) sends the new counts to the servers holding a copy, debounced. A poll hiding its
    totals until it ends sends none (its end does)."""
    votes = await cast_vote(uow.session, poll, account.id, choices, uri=uri)
    author = await uow.session.get(Account, poll.account_id)
    if author is None or poll.status_id is None:
        return
    if author.domain is not None:
        if account.domain is None:
            for made in votes:
                await outbox.publish(uow, "Create", {"object_type": "Vote", "vote_id": made.id})
        return
    if not poll.hide_totals:
        await outbox.poll_counts_changed(
            uow,
            status_id=poll.status_id,
            poll_id=poll.id,
            author_id=author.id,
            delay=update_delay,
            remote_voter=account.domain is not None,
        )


async def _own_statuses(uow: UnitOfWork, account_id: int, status_ids: list[int]) -> list[int]:
    """Those of `status_ids` that are the account's own live posts (not boosts): nobody pins
    another's post, whatever its collection says (checklist B, ownership)."""
    if not status_ids:
        return []
    found = await uow.session.execute(
        select(Status.id).where(
            Status.id.in_(status_ids[:MAX_REMOTE_PINS]),
            Status.account_id == account_id,
            Status.reblog_of_id.is_(None),
            Status.deleted_at.is_(None),
        )
    )
    return list(found.scalars())


async def set_remote_pins(uow: UnitOfWork, account: Account, status_ids: list[int]) -> None:
    """A remote account's pins become what its `featured` collection lists now (Mastodon's
    featured collection fetch): pins it no longer lists go, new ones are added."""
    if account.domain is None:
        return
    keep = await _own_statuses(uow, account.id, status_ids)
    await uow.session.execute(
        delete(StatusPin).where(StatusPin.account_id == account.id, StatusPin.status_id.not_in(keep))
    )
    for status_id in keep:
        await repo.add_interaction(uow.session, StatusPin, account.id, status_id)


async def remote_pin(uow: UnitOfWork, account: Account, status_id: int, *, pinned: bool) -> bool:
    """A remote account's `Add` (pinned) or `Remove` of one of its own posts in its featured
    collection; False when the post is not its own (nothing changes)."""
    if account.domain is None or not await _own_statuses(uow, account.id, [status_id]):
        return False
    if pinned:
        if await repo.count_pins(uow.session, account.id) < MAX_REMOTE_PINS:
            await repo.add_interaction(uow.session, StatusPin, account.id, status_id)
    else:
        await repo.remove_interaction(uow.session, StatusPin, account.id, status_id)
    return True
