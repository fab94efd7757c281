"""`federation.distribute`: render one activity once and plan who receives it.

The domain publishes what happened (`domain/outbox.py`, whose docstring lists the payloads);
this job loads the rows, renders the activity, works out the inboxes and enqueues one
`federation.deliver` per distinct inbox, carrying the rendered body, so a thousand followers on
one server cost one document and one POST to its shared inbox. It talks to no network.

Who receives what (Mastodon's rules):

- a status's Create, Update and Delete go where the status reached (`status_reach`, Mastodon's
  `StatusReachFinder`): the author's remote followers (their server's shared inbox when it has
  one), and, for a public or unlisted reply to a local account's post, that account's followers
  too (minus the domains the author blocked); the remote accounts it mentions; for a public or
  unlisted status also the author of the post it replies to, of the post it quotes, and the
  remote accounts that favourited, boosted or replied to it. A `Delete` reaches those last ones
  whatever the visibility (only the id goes out; remote interactions may come without access,
  so an edit's content goes to them only when the status is public or unlisted). A direct
  status has no followers' share. A public one (not unlisted) also goes to the inboxes of the
  relays that accepted us (Mastodon's `relay_inboxes`);
- a boost and its Undo: the booster's remote followers and the boosted status's remote author;
- a local poll's new counts (`Update` of the Question): where the status reached, and the
  servers of its remote voters (Mastodon's `DistributePollUpdateWorker`); a local vote on a
  remote poll (`Create` of a Note with `name`): the poll's author's own inbox only;
- a profile change (Update of the Person): the remote followers and the remote accounts the
  actor recently interacted with (`recent_contacts`, Mastodon's `AccountReachFinder`);
- the `Delete` of a deleted local account (Mastodon's DeleteAccountService): first the inboxes of
  its followers and of the accounts it followed (taken when it was deleted, plus any follower
  still on file), then, at low priority (`LOW_PRIORITY_DELAY` later, `KNOWN_INBOX_PAGE` at a
  time, each page its own job), every other inbox we know; shared inboxes, each once;
- a pin or unpin (`Add`/`Remove` in the `featured` collection): the author's remote followers;
- one-to-one activities (Like, Follow, Accept, Reject, Block and their Undo): the other
  account's own inbox;
- the instance actor's `Follow` of a relay and its `Undo` (`domain/instance/relays.py`): the
  relay's inbox, signed by the instance actor; a local report forwarded (`Flag`, the client
  API's `forward`): the reported account's inbox, signed by the instance actor too.

Never to a local account, never to a domain under a suspension (`domain_blocks.policy_for`).
Each deliver job has a dedup key made of this job's id and the inbox, so a distribute job run
again (its worker died after the commit of some work) does not send anything twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, exists, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance import relays
from kinfolk.domain.instance.models import Relay
from kinfolk.domain.moderation import domain_blocks
from kinfolk.domain.moderation.models import Report
from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.domain.relationships.models import AccountDomainBlock, Follow, FollowRequest
from kinfolk.domain.statuses.models import Favourite, Mention, Status
from kinfolk.federation import repo
from kinfolk.federation.render.activities import (
    announce_stub,
    render_answer,
    render_block,
    render_delete,
    render_delete_actor,
    render_flag,
    render_follow,
    render_instance_undo,
    render_like,
    render_pin,
    render_undo,
    render_update,
)
from kinfolk.federation.render.actor import render_actor
from kinfolk.federation.render.announce import render_announce, render_announce_object
from kinfolk.federation.render.create import render_create
from kinfolk.federation.render.env import PUBLIC, RenderEnv
from kinfolk.federation.render.note import NoteRows, render_note_object, status_uri
from kinfolk.federation.render.vote import render_vote
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.queue import enqueue_many
from kinfolk.jobs.registry import PermanentJobError, handles
from kinfolk.kernel.clock import utcnow

log = logging.getLogger(__name__)

DISTRIBUTE = "federation.distribute"
DELIVER = "federation.deliver"

KNOWN_INBOX_PAGE = 500
"""Inboxes one job plans when a deleted account's `Delete` goes to every server we know."""

LOW_PRIORITY_DELAY = timedelta(seconds=5)
"""How much later low-priority deliveries are due: jobs are claimed by due time, so everything
already due (the deleted account's own followers, other people's posts) goes first."""

MAX_PAYLOAD_INBOXES = 5_000

# Bounds on who a status or a profile change reaches beyond followers (one capped query each).
# A status: the remote accounts it mentions or that interacted with it.
MAX_REACHED = 5_000
# A profile: accounts met in the actor's statuses of the last two days, at most 200 statuses
# and 2,000 accounts, and those it asked to follow in that time (Mastodon's numbers).
RECENT_SINCE = timedelta(days=2)
RECENT_STATUSES = 200
MAX_RECENT_CONTACTS = 2_000
DISTRIBUTABLE = frozenset({"public", "unlisted"})


@dataclass
class Plan:
    """One rendered activity, the local account that signs it, and the accounts it goes to."""

    actor: Account
    document: dict[str, Any]
    # Remote account ids whose inboxes receive it, and the local accounts whose remote followers
    # receive it too (a non-empty `followers_of` makes it a broadcast: shared inboxes).
    account_ids: set[int]
    followers_of: tuple[int, ...] = ()
    # Inboxes named outright (a deleted account's reach, or a page of every known inbox).
    inboxes: list[str] = field(default_factory=list)
    # Signed by a deleted account's kept key (its own `Delete`), which deliver allows only then.
    gone: bool = False
    low_priority: bool = False
    # Deliveries are told apart by this activity id rather than by the job: several jobs plan
    # the same activity, and an inbox gets it once.
    dedup_scope: str | None = None
    # Where the next page of every known inbox starts, when another job should plan it.
    next_after: str | None = None


Planner = Callable[[JobContext, RenderEnv, dict[str, Any]], Awaitable[Plan | None]]
_PLANNERS: dict[str, Planner] = {}


def _planner(*names: str) -> Callable[[Planner], Planner]:
    def bind(fn: Planner) -> Planner:
        for name in names:
            _PLANNERS[name] = fn
        return fn

    return bind


def render_env(container: Container) -> RenderEnv:
    return RenderEnv(uris=container.uris, domain=container.settings.domain, media_url=container.storage.url)


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PermanentJobError(f"payload has no {key}")
    try:
        return int(value)
    except ValueError as exc:
        raise PermanentJobError(f"payload {key} is not an id") from exc


async def _local_actor(session: AsyncSession, account_id: int) -> Account | None:
    """The signing account: local, not suspended, with a key (else there is nothing to send)."""
    account = await session.get(Account, account_id)
    if account is None or not account.is_local or account.suspended_at is not None:
        return None
    if not account.private_key_pem:
        return None
    return account


async def _deleted_actor(session: AsyncSession, account_id: int) -> Account | None:
    """A deleted local account that still has its key: the signer of its own `Delete` only."""
    account = await session.get(Account, account_id)
    if account is None or not account.is_local or account.deleted_at is None or not account.private_key_pem:
        return None
    return account


async def _remote(session: AsyncSession, account_id: int) -> Account | None:
    account = await session.get(Account, account_id)
    if account is None or account.is_local:
        return None
    return account


# --- statuses -----------------------------------------------------------------------------------


async def _status_and_author(session: AsyncSession, status_id: int) -> tuple[Status, Account] | None:
    status = await session.get(Status, status_id)
    if status is None or status.deleted_at is not None:
        return None
    author = await _local_actor(session, status.account_id)
    return None if author is None else (status, author)


@dataclass
class Reach:
    """Who a status reached: remote accounts, and local accounts whose followers it reached."""

    account_ids: set[int]
    followers_of: tuple[int, ...]
    # Relays' inboxes (a public post).
    inboxes: list[str] = field(default_factory=list)


async def status_reach(session: AsyncSession, status: Status, *, unsafe: bool = False) -> Reach:
    """Where `status` (a local post, not a boost) went, and so where its edits and its deletion
    go (Mastodon's `StatusReachFinder`). `unsafe` (a Delete): also the accounts that interacted
    with a private or direct status, since a remote favourite, boost or reply may have been
    made without access and only the id goes out. Three queries, capped."""
    sid = status.id
    distributable = status.visibility in DISTRIBUTABLE
    parts = [select(Mention.account_id.label("account_id")).where(Mention.status_id == sid)]
    if distributable:
        if status.in_reply_to_account_id is not None:
            parts.append(select(Account.id).where(Account.id == status.in_reply_to_account_id))
        if status.quote_of_id is not None:
            parts.append(select(Status.account_id).where(Status.id == status.quote_of_id))
    if distributable or unsafe:
        # A deleted status's boosts went with it (still on file); a live one's count while live.
        boosts: ColumnElement[bool] = Status.reblog_of_id == sid
        if status.deleted_at is None:
            boosts = boosts & Status.deleted_at.is_(None)
        parts += [
            select(Favourite.account_id).where(Favourite.status_id == sid),
            select(Status.account_id).where(boosts),
            select(Status.account_id).where(Status.in_reply_to_id == sid, Status.deleted_at.is_(None)),
        ]
    reached = union(*parts).subquery()
    stmt = (
        select(Account.id)
        .where(Account.id.in_(select(reached.c.account_id)), Account.domain.is_not(None))
        .order_by(Account.id)
        .limit(MAX_REACHED)
    )
    account_ids = set((await session.execute(stmt)).scalars())
    followers_of: tuple[int, ...] = () if status.visibility == "direct" else (status.account_id,)
    parent_author = status.in_reply_to_account_id
    if distributable and parent_author is not None and parent_author != status.account_id:
        parent = await session.get(Account, parent_author)
        if parent is not None and parent.is_local:
            followers_of += (parent_author,)
    relayed = await relays.accepted_inboxes(session) if status.visibility == "public" else []
    return Reach(account_ids, followers_of, relayed)


Render = Callable[[Status, Account, NoteRows], dict[str, Any]]


async def _post_plan(ctx: JobContext, env: RenderEnv, payload: dict[str, Any], render: Render) -> Plan | None:
    """The plan of a post's Create or Update: the live local post (not a boost) rendered by
    `render`, to everyone it reached."""
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    if found is None or found[0].reblog_of_id is not None:
        return None
    status, author = found
    rows = (await repo.note_rows(session, env, [status]))[0]
    return await _status_plan(session, status, author, render(status, author, rows))


async def _status_plan(
    session: AsyncSession, status: Status, author: Account, document: dict[str, Any], *, unsafe: bool = False
) -> Plan:
    reach = await status_reach(session, status, unsafe=unsafe)
    return Plan(author, document, reach.account_ids, reach.followers_of, inboxes=reach.inboxes)


@_planner("Create")
async def _create(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    if payload.get("object_type") == "Vote":
        return await _vote(ctx, env, payload)
    return await _post_plan(ctx, env, payload, lambda _status, _author, rows: render_create(env, rows))


async def _vote(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    """A local vote on a remote poll, to the poll's author alone."""
    session = ctx.uow.session
    vote = await session.get(PollVote, _int(payload, "vote_id"))
    if vote is None:
        return None
    voter = await _local_actor(session, vote.account_id)
    poll = await session.get(Poll, vote.poll_id)
    status = await session.get(Status, poll.status_id) if poll is not None and poll.status_id else None
    if voter is None or poll is None or status is None or status.deleted_at is not None:
        return None
    author = await _remote(session, status.account_id)
    if author is None or author.uri is None or not 0 <= vote.choice < len(poll.options or []):
        return None
    question = status_uri(env, status, author)
    document = render_vote(env, voter, vote.id, poll.options[vote.choice], question, author.uri)
    return Plan(voter, document, {author.id})


@_planner("Announce")
async def _announce(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    if found is None or found[0].reblog_of_id is None:
        return None
    boost, booster = found
    boosted = await session.get(Status, boost.reblog_of_id)
    boosted_author = await session.get(Account, boosted.account_id) if boosted is not None else None
    if boosted is None or boosted_author is None or boosted.deleted_at is not None:
        return None
    recipients = {boosted_author.id} if not boosted_author.is_local else set()
    document = render_announce(env, boost, booster, boosted, boosted_author)
    return Plan(booster, document, recipients, (booster.id,))


async def _update_status(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    def render(status: Status, author: Account, rows: NoteRows) -> dict[str, Any]:
        edited = status.edited_at or status.created_at
        version = f"{status.id}-{int(edited.timestamp())}"
        return render_update(env, author, render_note_object(env, rows), version)

    return await _post_plan(ctx, env, payload, render)


async def recent_contacts(session: AsyncSession, account_id: int) -> set[int]:
    """The remote accounts `account_id` recently dealt with, who hold a copy of its profile
    without following it (Mastodon's `AccountReachFinder`): those mentioned in, replied to or
    boosted by its statuses of the last `RECENT_SINCE` (its latest `RECENT_STATUSES` at most),
    and those it followed or asked to follow in that time. One query, capped."""
    since = utcnow() - RECENT_SINCE
    latest = (
        select(Status.id, Status.in_reply_to_account_id, Status.reblog_of_id, Status.created_at)
        .where(Status.account_id == account_id, Status.deleted_at.is_(None))
        .order_by(Status.id.desc())
        .limit(RECENT_STATUSES)
        .subquery()
    )
    recent = select(latest).where(latest.c.created_at >= since).subquery()
    contacts = union(
        select(Mention.account_id.label("account_id")).where(Mention.status_id.in_(select(recent.c.id))),
        select(recent.c.in_reply_to_account_id),
        select(Status.account_id).where(Status.id.in_(select(recent.c.reblog_of_id))),
        select(Follow.target_account_id).where(Follow.account_id == account_id, Follow.created_at >= since),
        select(FollowRequest.target_account_id).where(
            FollowRequest.account_id == account_id, FollowRequest.created_at >= since
        ),
    ).subquery()
    stmt = (
        select(Account.id)
        .where(
            Account.id.in_(select(contacts.c.account_id)),
            Account.domain.is_not(None),
            Account.suspended_at.is_(None),
        )
        .order_by(Account.id)
        .limit(MAX_RECENT_CONTACTS)
    )
    return set((await session.execute(stmt)).scalars())


async def _update_person(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    account = await _local_actor(session, _int(payload, "account_id"))
    if account is None:
        return None
    actor_document = render_actor(env, account, emojis=await repo.actor_emojis(session, env, account))
    document = render_update(env, account, actor_document, f"{int(account.updated_at.timestamp())}")
    document["to"], document["cc"] = [PUBLIC], []
    return Plan(account, document, await recent_contacts(session, account.id), (account.id,))


async def _update_poll(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    """A local poll's counts as they are now, where the status reached and to its remote
    voters. The id names the poll's state (its update time), so each new count is a new
    activity for receivers, and the same count sent twice is one."""
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    if found is None or found[0].poll_id is None:
        return None
    status, author = found
    rows = (await repo.note_rows(session, env, [status]))[0]
    if rows.poll is None:
        return None
    version = f"{status.id}-poll-{int(rows.poll.updated_at.timestamp() * 1000)}"
    document = render_update(env, author, render_note_object(env, rows), version)
    plan = await _status_plan(session, status, author, document)
    voters = select(PollVote.account_id).where(PollVote.poll_id == rows.poll.id).distinct().limit(MAX_REACHED)
    plan.account_ids |= set((await session.execute(voters)).scalars())
    return plan


@_planner("Update")
async def _update(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    if payload.get("object_type") == "Person":
        return await _update_person(ctx, env, payload)
    if payload.get("object_type") == "Question":
        return await _update_poll(ctx, env, payload)
    return await _update_status(ctx, env, payload)


async def _known_inboxes(session: AsyncSession, after: str, limit: int) -> list[str]:
    """A page of every inbox we know (shared ones where there are), in order, after `after`."""
    inbox = func.coalesce(Account.shared_inbox_url, Account.inbox_url)
    stmt = (
        select(inbox)
        .where(Account.domain.is_not(None), Account.suspended_at.is_(None), inbox > after)
        .distinct()
        .order_by(inbox)
        .limit(limit)
    )
    return [url for url in (await session.execute(stmt)).scalars() if url]


async def _delete_actor(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    actor = await _deleted_actor(session, _int(payload, "account_id"))
    if actor is None:
        return None
    document = render_delete_actor(env, actor)
    scope = str(document["id"])
    after = payload.get("after")
    if isinstance(after, str):
        page = await _known_inboxes(session, after, KNOWN_INBOX_PAGE)
        more = page[-1] if len(page) == KNOWN_INBOX_PAGE else None
        return Plan(
            actor,
            document,
            set(),
            inboxes=page,
            gone=True,
            low_priority=True,
            dedup_scope=scope,
            next_after=more,
        )
    named = payload.get("inboxes")
    reach = (
        [url for url in named if isinstance(url, str)][:MAX_PAYLOAD_INBOXES]
        if isinstance(named, list)
        else []
    )
    return Plan(
        actor, document, set(), (actor.id,), inboxes=reach, gone=True, dedup_scope=scope, next_after=""
    )


@_planner("Delete")
async def _delete(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    if payload.get("object_type") == "Person":
        return await _delete_actor(ctx, env, payload)
    session = ctx.uow.session
    status_id = _int(payload, "status_id")
    author = await _local_actor(session, _int(payload, "account_id"))
    if author is None:
        return None
    uri = payload.get("uri") or env.uris.status(author.username, status_id)
    visibility = str(payload.get("visibility") or "public")
    to = [PUBLIC] if visibility in DISTRIBUTABLE else [env.uris.followers(author.username)]
    document = render_delete(env, author, str(uri), status_id, to=to, cc=[])
    # The mentions as they were when it was deleted, in case the rows have gone since.
    mentioned = {int(i) for i in payload.get("mentioned_ids") or []}
    status = await session.get(Status, status_id)
    if status is None or status.account_id != author.id:
        followers = () if visibility == "direct" else (author.id,)
        return Plan(author, document, mentioned, followers)
    plan = await _status_plan(session, status, author, document, unsafe=True)
    plan.account_ids |= mentioned
    return plan


# --- one-to-one ---------------------------------------------------------------------------------


@_planner("Add", "Remove")
async def _pin(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    """A local pin or unpin, to the author's remote followers (Mastodon's pin distribution)."""
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    kind = payload.get("type")
    if found is None or kind not in ("Add", "Remove") or found[1].id != _int(payload, "account_id"):
        return None
    status, author = found
    document = render_pin(env, str(kind), author, status_uri(env, status, author), _int(payload, "pin_id"))
    return Plan(author, document, set(), (author.id,))


@_planner("Like")
async def _like(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    found = await _like_parts(ctx, env, payload)
    if found is None:
        return None
    actor, author, document = found
    return Plan(actor, document, {author.id})


async def _like_parts(
    ctx: JobContext, env: RenderEnv, payload: dict[str, Any]
) -> tuple[Account, Account, dict[str, Any]] | None:
    session = ctx.uow.session
    actor = await _local_actor(session, _int(payload, "account_id"))
    status = await session.get(Status, _int(payload, "status_id"))
    if actor is None or status is None:
        return None
    author = await _remote(session, status.account_id)
    if author is None:
        return None
    document = render_like(env, actor, status_uri(env, status, author), _int(payload, "favourite_id"))
    return actor, author, document


async def _follow_uri(
    session: AsyncSession, env: RenderEnv, actor: Account, payload: dict[str, Any], key: str = "request_id"
) -> str:
    """The stored id of our `Follow`, made and stored on first use (it must not change once sent:
    the `Accept` and the `Undo` name it)."""
    request_id = _int(payload, key)
    for table in (FollowRequest, Follow):
        stored = (await session.execute(select(table.uri).where(table.id == request_id))).first()
        if stored is not None:
            if stored[0]:
                return str(stored[0])
            uri = env.uris.activity(actor.username, "follows", request_id)
            await session.execute(update(table).where(table.id == request_id).values(uri=uri))
            return uri
    return env.uris.activity(actor.username, "follows", request_id)


@_planner("Follow")
async def _follow(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    actor = await _local_actor(session, _int(payload, "account_id"))
    target = await _remote(session, _int(payload, "target_id"))
    if actor is None or target is None or target.uri is None:
        return None
    request_id = _int(payload, "request_id")
    pending = await session.execute(
        select(func.count()).select_from(FollowRequest).where(FollowRequest.id == request_id)
    )
    if not pending.scalar_one():
        return None  # withdrawn before it went out
    uri = await _follow_uri(session, env, actor, payload)
    return Plan(actor, render_follow(uri, env.uris.account_id(actor), target.uri), {target.id})


@_planner("Accept", "Reject")
async def _answer(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    actor = await _local_actor(session, _int(payload, "account_id"))
    follower = await _remote(session, _int(payload, "target_id"))
    if actor is None or follower is None or follower.uri is None:
        return None
    follow_id = _int(payload, "follow_id")
    # A remote Follow we accept has its id stored; one without (made before federation) gets ours.
    follow_uri = payload.get("follow_uri") or env.uris.activity(follower.username, "follows", follow_id)
    follow = render_follow(str(follow_uri), follower.uri, env.uris.account_id(actor))
    return Plan(actor, render_answer(env, str(payload["type"]), actor, follow, follow_id), {follower.id})


@_planner("Block")
async def _block(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    actor = await _local_actor(session, _int(payload, "account_id"))
    target = await _remote(session, _int(payload, "target_id"))
    if actor is None or target is None or target.uri is None:
        return None
    return Plan(actor, render_block(env, actor, target.uri, _int(payload, "block_id")), {target.id})


@_planner("Undo")
async def _undo(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    object_type = payload.get("object_type")
    if object_type == "Like":
        found = await _like_parts(ctx, env, payload)
        if found is None:
            return None
        liker, author, like = found
        return Plan(liker, render_undo(env, liker, like), {author.id})
    actor = await _local_actor(session, _int(payload, "account_id"))
    if actor is None:
        return None
    if object_type == "Follow":
        target = await _remote(session, _int(payload, "target_id"))
        if target is None or target.uri is None:
            return None
        uri = payload.get("follow_uri") or env.uris.activity(
            actor.username, "follows", _int(payload, "follow_id")
        )
        follow = render_follow(str(uri), env.uris.account_id(actor), target.uri)
        return Plan(actor, render_undo(env, actor, follow), {target.id})
    if object_type == "Block":
        target = await _remote(session, _int(payload, "target_id"))
        if target is None or target.uri is None:
            return None
        block = render_block(env, actor, target.uri, _int(payload, "block_id"))
        return Plan(actor, render_undo(env, actor, block), {target.id})
    if object_type == "Announce":
        return await _undo_announce(ctx, env, actor, payload)
    raise PermanentJobError(f"cannot undo {object_type!r}")


async def _undo_announce(
    ctx: JobContext, env: RenderEnv, actor: Account, payload: dict[str, Any]
) -> Plan | None:
    session = ctx.uow.session
    boost_id = _int(payload, "status_id")
    boost = await session.get(Status, boost_id)
    boosted = await session.get(Status, _int(payload, "reblog_of_id"))
    boosted_author = await session.get(Account, boosted.account_id) if boosted is not None else None
    if boosted is None or boosted_author is None:
        return None
    uri = str(payload.get("uri") or env.uris.status_activity(actor.username, boost_id))
    if boost is not None:
        announce = render_announce_object(env, boost, actor, boosted, boosted_author)
    else:
        announce = announce_stub(env, actor, uri, status_uri(env, boosted, boosted_author), None)
    recipients = {boosted_author.id} if not boosted_author.is_local else set()
    visibility = str(payload.get("visibility") or "public")
    to = [PUBLIC] if visibility == "public" else [env.uris.followers(actor.username)]
    return Plan(actor, render_undo(env, actor, announce, to=to), recipients, (actor.id,))


# --- recipients -----------------------------------------------------------------------------------


def _inbox_of(account: Account, *, shared: bool) -> str | None:
    return (account.shared_inbox_url if shared else None) or account.inbox_url


async def plan_inboxes(session: AsyncSession, container: Container, plan: Plan) -> list[str]:
    """The distinct inboxes of the plan's recipients, in a stable order, none local, none on a
    suspended domain. Broadcasts use shared inboxes; one-to-one activities the personal inbox."""
    broadcast = bool(plan.followers_of)
    inboxes: list[str] = []
    if plan.followers_of:
        # Another account's followers (a reply's thread) exclude the domains the actor blocked.
        whose: ColumnElement[bool] = Follow.target_account_id.in_(plan.followers_of)
        if set(plan.followers_of) != {plan.actor.id}:
            blocked = exists().where(
                AccountDomainBlock.account_id == plan.actor.id, AccountDomainBlock.domain == Account.domain
            )
            whose = whose & or_(Follow.target_account_id == plan.actor.id, ~blocked)
        stmt = (
            select(func.coalesce(Account.shared_inbox_url, Account.inbox_url))
            .join(Follow, Follow.account_id == Account.id)
            .where(whose, Account.domain.is_not(None), Account.suspended_at.is_(None))
            .distinct()
        )
        inboxes.extend(url for url in (await session.execute(stmt)).scalars() if url)
    if plan.account_ids:
        accounts = (
            await session.execute(
                select(Account).where(
                    Account.id.in_(plan.account_ids),
                    Account.domain.is_not(None),
                    Account.suspended_at.is_(None),
                )
            )
        ).scalars()
        inboxes.extend(url for url in (_inbox_of(a, shared=broadcast) for a in accounts) if url)
    inboxes.extend(plan.inboxes)
    return await _allowed(session, container, dict.fromkeys(sorted(inboxes)))


async def _allowed(session: AsyncSession, container: Container, inboxes: Iterable[str]) -> list[str]:
    uris = container.uris
    hosts: dict[str, str] = {}
    for inbox in inboxes:
        try:
            parts = urlsplit(inbox)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            continue
        if host and parts.scheme in ("http", "https") and not uris.is_local(inbox):
            hosts[inbox] = host
    policies = await domain_blocks.policies_for(session, set(hosts.values()))
    return [inbox for inbox, host in hosts.items() if not policies[host].suspended]


def dedup_key(scope: int | str, inbox: str) -> str:
    """One delivery per inbox of a distribute job (`scope` its id), or of an activity that
    several jobs plan (`scope` the activity's id)."""
    if isinstance(scope, str):
        scope = hashlib.sha256(scope.encode()).hexdigest()[:24]
    return f"deliver:{scope}:{hashlib.sha256(inbox.encode()).hexdigest()[:32]}"


async def _relay_activity(
    ctx: JobContext, env: RenderEnv, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """The instance actor's `Follow` of a relay (while the relay is still pending), or the
    `Undo` of it (the row gone: the payload carries what it needs), and the relay's inbox."""
    actor = env.uris.instance_actor()
    if payload.get("type") == "Follow":
        relay = await ctx.uow.session.get(Relay, _int(payload, "relay_id"))
        if relay is None or relay.state != "pending" or not relay.follow_activity_id:
            return None
        follow = render_follow(relay.follow_activity_id, actor, relays.follow_object(relay))
        return relay.inbox_url, follow
    inbox, follow_id, target = (
        payload.get("inbox_url"),
        payload.get("follow_activity_id"),
        payload.get("object"),
    )
    if not isinstance(inbox, str) or not isinstance(follow_id, str) or not isinstance(target, str):
        raise PermanentJobError("a relay's Undo needs inbox_url, follow_activity_id and object")
    follow = render_follow(follow_id, actor, target)
    return inbox, render_instance_undo(env, follow)


async def _flag_activity(
    ctx: JobContext, env: RenderEnv, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """A local report about a remote account, forwarded to that account's inbox: the account's
    id and those of its own reported posts (their ids as the origin gave them)."""
    session = ctx.uow.session
    report = await session.get(Report, _int(payload, "report_id"))
    if report is None or not report.forwarded:
        return None
    target = await _remote(session, report.target_account_id)
    if target is None or target.uri is None or not target.inbox_url:
        return None
    wanted = [int(i) for i in report.status_ids or []]
    posts: list[str] = []
    if wanted:
        rows = await session.execute(
            select(Status.id, Status.uri).where(Status.id.in_(wanted), Status.account_id == target.id)
        )
        by_id = {status_id: uri for status_id, uri in rows if uri}
        posts = [by_id[i] for i in wanted if i in by_id]
    return target.inbox_url, render_flag(env, report.id, report.comment, [target.uri, *posts])


async def _distribute_as_instance(
    ctx: JobContext, payload: dict[str, Any], found: tuple[str, dict[str, Any]] | None
) -> None:
    """One activity of the instance actor's own (a relay's Follow or Undo, a forwarded report)
    to one inbox, signed with the instance actor's key."""
    if found is None:
        return
    inbox, document = found
    allowed = await _allowed(ctx.uow.session, ctx.container, [inbox])
    if not allowed:
        return
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    delivery = {"inbox": allowed[0], "body": body, "instance": True}
    await enqueue_many(ctx.uow, DELIVER, [(delivery, dedup_key(ctx.job_id, allowed[0]))])
    log.info("%s by the instance actor to %s", payload.get("type"), allowed[0])


@handles(DISTRIBUTE)
async def distribute(ctx: JobContext, payload: dict[str, Any]) -> None:
    kind = payload.get("type")
    if payload.get("object_type") == "Relay" and kind in ("Follow", "Undo"):
        await _distribute_as_instance(
            ctx, payload, await _relay_activity(ctx, render_env(ctx.container), payload)
        )
        return
    if kind == "Flag":
        await _distribute_as_instance(
            ctx, payload, await _flag_activity(ctx, render_env(ctx.container), payload)
        )
        return
    planner = _PLANNERS.get(kind) if isinstance(kind, str) else None
    if planner is None:
        raise PermanentJobError(f"no activity of type {kind!r} to distribute")
    env = render_env(ctx.container)
    plan = await planner(ctx, env, payload)
    if plan is None:
        return
    session = ctx.uow.session
    inboxes = await plan_inboxes(session, ctx.container, plan)
    run_at = utcnow() + LOW_PRIORITY_DELAY if plan.low_priority else None
    if plan.next_after is not None:
        # The next page of every known inbox, at low priority, by a job of its own.
        await ctx.uow.enqueue(
            DISTRIBUTE,
            {
                "type": kind,
                "object_type": payload.get("object_type"),
                "account_id": plan.actor.id,
                "after": plan.next_after,
            },
            run_at=utcnow() + LOW_PRIORITY_DELAY,
            dedup_key=f"distribute:{ctx.job_id}:next",
        )
    if not inboxes:
        return
    body = json.dumps(plan.document, ensure_ascii=False, separators=(",", ":"))
    scope = plan.dedup_scope or ctx.job_id
    deliveries: list[tuple[dict[str, Any], str | None]] = []
    for inbox in inboxes:
        delivery: dict[str, Any] = {"inbox": inbox, "body": body, "actor_id": plan.actor.id}
        if plan.gone:
            delivery["gone"] = True
        deliveries.append((delivery, dedup_key(scope, inbox)))
    await enqueue_many(ctx.uow, DELIVER, deliveries, run_at=run_at)
    log.info("%s by account %s: %d inboxes", kind, plan.actor.id, len(inboxes))
