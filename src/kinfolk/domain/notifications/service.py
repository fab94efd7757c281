"""Creating notifications: who gets one, whether the policy holds it back, how they group.

Everything that notifies (mentions, follows, favourites, boosts, polls, edits, sign-ups,
reports) calls `notify`, inside the unit of work of the job or request that caused it. The
rules are Mastodon's (4.5):

1. Dismissed outright: the recipient is not a local user (or is suspended), the sender is the
   recipient (except for polls), or the recipient blocks, mutes (with notifications), domain-
   blocks (unless following) the sender, or muted the conversation. A mention from staff who
   outrank the recipient skips these checks.
2. The recipient's policy, for the filterable types (mention, reblog, follow, follow_request,
   favourite, quote) and senders not already accepted: each category that applies (sender is
   limited, not followed, not a follower for 3 days, an account younger than 30 days, or the
   notification is an unsolicited private mention) says accept, filter or drop; any drop drops
   it, else any filter keeps it as `filtered` (and a mention or quote opens a request).
3. Listeners (`on_notification`: streaming, Web Push) run for notifications that were not
   filtered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.notifications import repo
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.notifications.push import enqueue_push_deliveries
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

# Grouped in v2 (Mastodon 4.4 added admin.sign_up to favourites, boosts and follows).
GROUPABLE = ("favourite", "reblog", "follow", "admin.sign_up")
MAX_GROUP_SPAN = timedelta(hours=12)
# Types that a notification about one's own action may still produce.
SELF_ALLOWED = ("poll", "severed_relationships", "moderation_warning")
FILTERABLE = ("mention", "reblog", "follow", "follow_request", "favourite", "quote")
# Filtered notifications of these types open (or refresh) a notification request.
REQUESTING = ("mention", "quote")
NEW_ACCOUNT_AGE = timedelta(days=30)
NEW_FOLLOWER_AGE = timedelta(days=3)
# Mastodon stops counting filtered notifications past this.
MAX_MEANINGFUL_COUNT = 100
_ROLE_RANK = {"owner": 3, "admin": 2, "moderator": 1}

# Called after a notification row is added (streaming, push); registered by those areas.
NotificationListener = Callable[[UnitOfWork, Notification], Awaitable[None]]
_listeners: list[NotificationListener] = []


def on_notification(listener: NotificationListener) -> NotificationListener:
    _listeners.append(listener)
    return listener


on_notification(enqueue_push_deliveries)


def _outranks(sender_role: str | None, recipient_role: str) -> bool:
    return _ROLE_RANK.get(sender_role or "", 0) > _ROLE_RANK.get(recipient_role, 0)


_DEFAULT_POLICY = repo.PolicyChoices(
    for_not_following="accept",
    for_not_followers="accept",
    for_new_accounts="accept",
    for_private_mentions="filter",
    for_limited_accounts="filter",
)


def _decisions(context: repo.NotifyContext, *, private_mention: bool) -> list[str]:
    """accept/filter/drop for every policy category that applies to this sender."""
    p = context.policy or _DEFAULT_POLICY
    facts = context.facts
    now = utcnow()
    out = []
    if context.sender_silenced_at is not None and not facts.following:
        out.append(p.for_limited_accounts)
    if not facts.following:
        out.append(p.for_not_following)
    if facts.follower_since is None or facts.follower_since > now - NEW_FOLLOWER_AGE:
        out.append(p.for_not_followers)
    if context.sender_created_at > now - NEW_ACCOUNT_AGE:
        out.append(p.for_new_accounts)
    if private_mention and not facts.following:
        out.append(p.for_private_mentions)
    return out


async def _is_private_mention(uow: UnitOfWork, type_: str, status: Status | None, recipient_id: int) -> bool:
    """A direct mention that does not answer one of the recipient's own private mentions."""
    if type_ != "mention" or status is None or status.visibility != "direct":
        return False
    if status.in_reply_to_id is None:
        return True
    return not await repo.mentioned_by_recipient_upthread(
        uow.session, status.in_reply_to_id, recipient_id, status.account_id
    )


async def _group_key(uow: UnitOfWork, recipient_id: int, type_: str, status_id: int | None, nid: int) -> str:
    if type_ not in GROUPABLE:
        return f"ungrouped-{nid}"
    prefix = f"{type_}-{status_id}" if type_ in ("favourite", "reblog") else type_
    # Hour buckets: a group goes on while it is less than MAX_GROUP_SPAN old (Mastodon's rule).
    bucket = int(utcnow().timestamp()) // 3600
    span = int(MAX_GROUP_SPAN.total_seconds() // 3600)
    candidates = [f"{prefix}-{b}" for b in range(bucket - span + 1, bucket + 1)]
    previous = await repo.latest_group_key(uow.session, recipient_id, candidates)
    return previous if previous is not None else f"{prefix}-{bucket}"


def _dismissed(type_: str, facts: repo.SenderFacts) -> bool:
    return (
        facts.blocked
        or facts.muted
        or (facts.domain_blocked and not facts.following)
        or (facts.thread_muted and type_ in ("mention", "status", "update"))
    )


async def notify(
    uow: UnitOfWork,
    *,
    type: str,
    recipient_id: int,
    from_account_id: int,
    status_id: int | None = None,
    report_id: int | None = None,
) -> Notification | None:
    """Add a notification unless the rules above dismiss or drop it; returns the row added."""
    session = uow.session
    if recipient_id == from_account_id and type not in SELF_ALLOWED:
        return None
    status = await session.get(Status, status_id) if status_id is not None else None
    context = await repo.notify_context(
        session, recipient_id, from_account_id, status.conversation_id if status is not None else None
    )
    if context is None:
        return None
    filtered = False
    if recipient_id != from_account_id:
        staff_mention = type == "mention" and _outranks(context.sender_role, context.recipient_role)
        if not staff_mention and _dismissed(type, context.facts):
            return None
        # Staff who outrank the recipient reach them whatever their policy (moderation messages).
        if type in FILTERABLE and not context.facts.permitted and not staff_mention:
            decisions = _decisions(
                context, private_mention=await _is_private_mention(uow, type, status, recipient_id)
            )
            if "drop" in decisions:
                return None
            filtered = "filter" in decisions
    notification_id = new_id()
    notification = Notification(
        id=notification_id,
        account_id=recipient_id,
        from_account_id=from_account_id,
        type=type,
        status_id=status_id,
        report_id=report_id,
        filtered=filtered,
        group_key=f"ungrouped-{notification_id}"
        if filtered
        else await _group_key(uow, recipient_id, type, status_id, notification_id),
        created_at=utcnow(),
    )
    await repo.add_notification(session, notification)
    if filtered:
        if type not in REQUESTING:
            # Counted in an open request (it merges with the rest on accept), but opens none.
            request = await repo.get_request_from(session, recipient_id, from_account_id)
            if request is not None:
                count = await repo.count_filtered_from(
                    session, recipient_id, from_account_id, MAX_MEANINGFUL_COUNT
                )
                await repo.set_request_count(session, request.id, count)
        else:
            count = await repo.count_filtered_from(
                session, recipient_id, from_account_id, MAX_MEANINGFUL_COUNT
            )
            await repo.upsert_request(session, recipient_id, from_account_id, status_id, count)
        return notification
    for listener in _listeners:
        await listener(uow, notification)
    return notification


async def notify_staff(
    uow: UnitOfWork, *, type: str, from_account_id: int, report_id: int | None = None
) -> list[Notification]:
    """admin.sign_up and admin.report: every local owner, admin and moderator."""
    added = []
    for staff_id in await repo.staff_account_ids(uow.session):
        notification = await notify(
            uow, type=type, recipient_id=staff_id, from_account_id=from_account_id, report_id=report_id
        )
        if notification is not None:
            added.append(notification)
    return added


async def notify_poll_ended(uow: UnitOfWork, *, batch: int = 200) -> int:
    """Announce polls that ended since the last run to their author (when local) and local
    voters, remote polls included; a local poll's final counts also go to the servers holding a
    copy (`outbox.poll_ended`).

    Each poll is claimed (marked) in the same transaction as its notifications, so a poll is
    announced exactly once however many workers run this.
    """
    claimed = await repo.claim_expired_polls(uow.session, utcnow(), batch)
    for poll_id, status_id, author_id in claimed:
        status = await uow.session.get(Status, status_id)
        if status is None or status.deleted_at is not None:
            continue
        if status.local:
            await notify(
                uow, type="poll", recipient_id=author_id, from_account_id=author_id, status_id=status_id
            )
            await outbox.poll_ended(uow, status_id=status_id, poll_id=poll_id, author_id=author_id)
        for voter_id in await repo.local_voters(uow.session, poll_id):
            if voter_id != author_id:
                await notify(
                    uow, type="poll", recipient_id=voter_id, from_account_id=author_id, status_id=status_id
                )
    return len(claimed)
