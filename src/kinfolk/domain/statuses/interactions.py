"""Favourites, bookmarks, pins, thread mutes and poll votes: small writes with their rules."""

from __future__ import annotations

from sqlalchemy import delete

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
            await repo.add_interaction(session, StatusPin, account.id, status.id)
    elif action == "unpin":
        await repo.remove_interaction(session, StatusPin, account.id, status.id)
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
