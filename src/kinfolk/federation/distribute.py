"""`federation.distribute`: render one activity once and plan who receives it.

The domain publishes what happened (`domain/outbox.py`, whose docstring lists the payloads);
this job loads the rows, renders the activity, works out the inboxes and enqueues one
`federation.deliver` per distinct inbox, carrying the rendered body, so a thousand followers on
one server cost one document and one POST to its shared inbox. It talks to no network.

Who receives what (Mastodon's rules):

- broadcasts (Create, Announce, Update, Delete, Undo Announce): the author's remote followers
  (their server's shared inbox when it has one) and the remote accounts the status mentions; a
  boost also goes to the boosted status's remote author. A direct status goes to the mentioned
  accounts only. A `Delete` also goes to every remote account that boosted the status;
- one-to-one activities (Like, Follow, Accept, Reject, Block and their Undo): the other
  account's own inbox.

Never to a local account, never to a domain under a suspension (`domain_blocks.policy_for`).
Each deliver job has a dedup key made of this job's id and the inbox, so a distribute job run
again (its worker died after the commit of some work) does not send anything twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation import domain_blocks
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.domain.statuses.models import Status
from kinfolk.federation import repo
from kinfolk.federation.render.activities import (
    announce_stub,
    render_answer,
    render_block,
    render_delete,
    render_follow,
    render_like,
    render_undo,
    render_update,
)
from kinfolk.federation.render.actor import render_actor
from kinfolk.federation.render.announce import render_announce, render_announce_object
from kinfolk.federation.render.create import render_create
from kinfolk.federation.render.env import PUBLIC, RenderEnv
from kinfolk.federation.render.note import render_note_object, status_uri
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, handles

log = logging.getLogger(__name__)

DISTRIBUTE = "federation.distribute"
DELIVER = "federation.deliver"


@dataclass
class Plan:
    """One rendered activity, the local account that signs it, and the accounts it goes to."""

    actor: Account
    document: dict[str, Any]
    # Remote account ids whose inboxes receive it, and whether to use their followers' inboxes.
    account_ids: set[int]
    followers_of: int | None = None


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


def _followers_for(visibility: str, author_id: int) -> int | None:
    """Whose followers receive a status of `visibility`: none for a direct message."""
    return None if visibility == "direct" else author_id


@_planner("Create")
async def _create(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    if found is None or found[0].reblog_of_id is not None:
        return None
    status, author = found
    rows = (await repo.note_rows(session, env, [status]))[0]
    mentioned = {a.id for a in rows.mentions if not a.is_local}
    return Plan(author, render_create(env, rows), mentioned, _followers_for(status.visibility, author.id))


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
    return Plan(booster, document, recipients, booster.id)


async def _update_status(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    found = await _status_and_author(session, _int(payload, "status_id"))
    if found is None or found[0].reblog_of_id is not None:
        return None
    status, author = found
    rows = (await repo.note_rows(session, env, [status]))[0]
    note = render_note_object(env, rows)
    edited = status.edited_at or status.created_at
    version = f"{status.id}-{int(edited.timestamp())}"
    mentioned = {a.id for a in rows.mentions if not a.is_local}
    document = render_update(env, author, note, version)
    return Plan(author, document, mentioned, _followers_for(status.visibility, author.id))


async def _update_person(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    account = await _local_actor(session, _int(payload, "account_id"))
    if account is None:
        return None
    actor_document = render_actor(env, account, emojis=await repo.actor_emojis(session, env, account))
    document = render_update(env, account, actor_document, f"{int(account.updated_at.timestamp())}")
    document["to"], document["cc"] = [PUBLIC], []
    return Plan(account, document, set(), account.id)


@_planner("Update")
async def _update(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    if payload.get("object_type") == "Person":
        return await _update_person(ctx, env, payload)
    return await _update_status(ctx, env, payload)


async def _boosters(session: AsyncSession, status_id: int) -> set[int]:
    """Remote accounts that boosted a status (their boosts are gone with it, but still on file)."""
    stmt = (
        select(Status.account_id)
        .join(Account, Account.id == Status.account_id)
        .where(Status.reblog_of_id == status_id, Account.domain.is_not(None))
        .distinct()
    )
    return set((await session.execute(stmt)).scalars())


@_planner("Delete")
async def _delete(ctx: JobContext, env: RenderEnv, payload: dict[str, Any]) -> Plan | None:
    session = ctx.uow.session
    status_id = _int(payload, "status_id")
    author = await _local_actor(session, _int(payload, "account_id"))
    if author is None:
        return None
    uri = payload.get("uri") or env.uris.status(author.username, status_id)
    visibility = str(payload.get("visibility") or "public")
    mentioned = {int(i) for i in payload.get("mentioned_ids") or []}
    recipients = mentioned | await _boosters(session, status_id)
    to = [PUBLIC] if visibility in ("public", "unlisted") else [env.uris.followers(author.username)]
    document = render_delete(env, author, str(uri), status_id, to=to, cc=[])
    return Plan(author, document, recipients, _followers_for(visibility, author.id))


# --- one-to-one ---------------------------------------------------------------------------------


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
    return Plan(actor, render_undo(env, actor, announce, to=to), recipients, actor.id)


# --- recipients -----------------------------------------------------------------------------------


def _inbox_of(account: Account, *, shared: bool) -> str | None:
    return (account.shared_inbox_url if shared else None) or account.inbox_url


async def plan_inboxes(session: AsyncSession, container: Container, plan: Plan) -> list[str]:
    """The distinct inboxes of the plan's recipients, in a stable order, none local, none on a
    suspended domain. Broadcasts use shared inboxes; one-to-one activities the personal inbox."""
    broadcast = plan.followers_of is not None
    inboxes: list[str] = []
    if plan.followers_of is not None:
        stmt = (
            select(func.coalesce(Account.shared_inbox_url, Account.inbox_url))
            .join(Follow, Follow.account_id == Account.id)
            .where(
                Follow.target_account_id == plan.followers_of,
                Account.domain.is_not(None),
                Account.suspended_at.is_(None),
            )
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
    return await _allowed(session, container, dict.fromkeys(sorted(inboxes)))


async def _allowed(session: AsyncSession, container: Container, inboxes: Iterable[str]) -> list[str]:
    uris = container.uris
    verdicts: dict[str, bool] = {}
    kept: list[str] = []
    for inbox in inboxes:
        try:
            parts = urlsplit(inbox)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            continue
        if not host or parts.scheme not in ("http", "https") or uris.is_local(inbox):
            continue
        if host not in verdicts:
            verdicts[host] = not (await domain_blocks.policy_for(session, host)).suspended
        if verdicts[host]:
            kept.append(inbox)
    return kept


def dedup_key(job_id: int, inbox: str) -> str:
    return f"deliver:{job_id}:{hashlib.sha256(inbox.encode()).hexdigest()[:32]}"


@handles(DISTRIBUTE)
async def distribute(ctx: JobContext, payload: dict[str, Any]) -> None:
    kind = payload.get("type")
    planner = _PLANNERS.get(kind) if isinstance(kind, str) else None
    if planner is None:
        raise PermanentJobError(f"no activity of type {kind!r} to distribute")
    env = render_env(ctx.container)
    plan = await planner(ctx, env, payload)
    if plan is None:
        return
    session = ctx.uow.session
    inboxes = await plan_inboxes(session, ctx.container, plan)
    if not inboxes:
        return
    body = json.dumps(plan.document, ensure_ascii=False, separators=(",", ":"))
    for inbox in inboxes:
        await ctx.uow.enqueue(
            DELIVER,
            {"inbox": inbox, "body": body, "actor_id": plan.actor.id},
            dedup_key=dedup_key(ctx.job_id, inbox),
        )
    log.info("%s by account %s: %d inboxes", kind, plan.actor.id, len(inboxes))
