"""Inbox forwarding (ActivityPub 7.1.2, as Mastodon does it): a remote reply to a local post,
addressed to the local author's followers, is passed on to those followers.

The replier's server knows only the followers collection's URL, not who is in it, so their
reply would otherwise never reach the people following the author on other servers. When an
activity received from its own actor (the inbox verified the signer is the actor)

- carries, in its `to`/`cc` or its object's, the followers collection of a local account, and
- concerns a reply, stored here, whose parent is a post of that same local account, and
- the reply is public or unlisted (Mastodon forwards only what it would distribute itself),

the activity's JSON is queued, unchanged, as one `federation.deliver` per distinct inbox of the
author's remote followers (shared inboxes once; never back to the sender's server; never to a
suspended domain), signed as usual by the local author: the POST is from us, so its HTTP
signature is ours. A receiver then sees an activity whose actor is not the signer; it may check
an embedded LD signature (Mastodon) or, as our own inbox does, fetch the object by id from its
origin and believe only that.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.distribute import DELIVER, Plan, plan_inboxes
from kinfolk.federation.parse.values import ids

log = logging.getLogger(__name__)

FORWARDED_VISIBILITIES = frozenset({"public", "unlisted"})
MAX_ADDRESSES = 256


def _addresses(document: Mapping[str, Any]) -> set[str]:
    """`to` and `cc` of the activity and of its embedded object (bounded)."""
    found: set[str] = set()
    for doc in (document, document.get("object")):
        if isinstance(doc, Mapping):
            for key in ("to", "cc"):
                found.update(ids(doc.get(key), MAX_ADDRESSES))
    return found


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.rpartition("@")[2].lower()
    except ValueError:
        return ""


async def forward_target(
    session: AsyncSession, container: Container, document: Mapping[str, Any], reply: Status | None
) -> Account | None:
    """The local account whose followers should receive `document`, or None."""
    if reply is None or reply.in_reply_to_id is None or reply.local:
        return None
    if reply.visibility not in FORWARDED_VISIBILITIES or reply.deleted_at is not None:
        return None
    parent = await session.get(Status, reply.in_reply_to_id)
    if parent is None or not parent.local or parent.deleted_at is not None:
        return None
    author = await session.get(Account, parent.account_id)
    if author is None or not author.is_local or author.suspended_at is not None or not author.private_key_pem:
        return None
    if container.uris.followers(author.username) not in _addresses(document):
        return None
    return author


def forward_key(activity_id: str, inbox: str) -> str:
    digest = hashlib.sha256(f"{activity_id}\n{inbox}".encode()).hexdigest()[:40]
    return f"forward:{digest}"


def _excluding(inboxes: Iterable[str], sender_uri: str) -> list[str]:
    sender = _netloc(sender_uri)
    return [inbox for inbox in inboxes if _netloc(inbox) != sender]


async def forward_reply(
    uow: UnitOfWork,
    container: Container,
    document: Mapping[str, Any],
    activity_id: str,
    sender: Account,
    reply: Status | None,
) -> int:
    """Queue the forwarding of `document` (received from `sender`) when `reply` calls for it,
    in `uow` (the ingress job's unit of work, so it commits with the reply). The number of
    deliveries queued."""
    session = uow.session
    author = await forward_target(session, container, document, reply)
    if author is None or sender.uri is None:
        return 0
    plan = Plan(actor=author, document=dict(document), account_ids=set(), followers_of=(author.id,))
    inboxes = _excluding(await plan_inboxes(session, container, plan), sender.uri)
    if not inboxes:
        return 0
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    for inbox in inboxes:
        await uow.enqueue(
            DELIVER,
            {"inbox": inbox, "body": body, "actor_id": author.id, "forwarded": activity_id},
            dedup_key=forward_key(activity_id, inbox),
        )
    log.info("forwarding %s to %d inboxes of %s's followers", activity_id, len(inboxes), author.username)
    return len(inboxes)
