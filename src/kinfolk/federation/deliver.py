"""`federation.deliver`: one signed POST of one rendered activity to one inbox.

Signed with draft-cavage or RFC 9421 as the host is known to accept, with one second knock in
the other scheme when it refuses the first (`federation/knock.py`).

No network call happens inside a transaction: the job reads what it needs (the signing key,
the domain's delivery health, its moderation policy) in a short read, closes it, POSTs, and
only then writes what came of it, each write in a unit of work of its own. (The job's own unit
of work rolls back when a retry is asked for, so a failure is counted in a separate one.)

Signed by the local account `actor_id`, or by the instance actor when the payload says
`instance` (its `Follow` of a relay and the `Undo` of it).

- 2xx: done; a domain that was failing is healthy again.
- 4xx other than 408 and 429: `PermanentJobError`, no retry (the inbox is gone, or refuses us).
- anything else (5xx, 408, 429, timeouts, refused connections): `RetryLater` after the
  server's `Retry-After`, else the kind's backoff (16 attempts over about two days), and the
  failure is counted against the domain (`domain/instance/delivery_hosts.py`). A domain that has
  failed on seven distinct days is unavailable: its deliveries end at once, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance import delivery_hosts
from kinfolk.domain.moderation import domain_blocks
from kinfolk.federation import knock
from kinfolk.federation.service import Scheme, account_signer, instance_signers
from kinfolk.federation.transport import Signer
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.kinds import lookup
from kinfolk.jobs.registry import PermanentJobError, RetryLater, handles

log = logging.getLogger(__name__)

DELIVER = "federation.deliver"


def _domain_of(inbox: str) -> str:
    try:
        host = urlsplit(inbox).hostname
    except ValueError:
        host = None
    if not host:
        raise PermanentJobError(f"not an inbox URL: {inbox[:200]!r}")
    return delivery_hosts.host_of(host)


def _may_sign(actor: Account, payload: dict[str, Any]) -> bool:
    """A suspended account signs nothing more, but a deleted one still signs its own `Delete`
    (planned with `gone`), as Mastodon keeps the key until that is delivered."""
    if actor.suspended_at is None:
        return True
    return actor.deleted_at is not None and payload.get("gone") is True


@handles(DELIVER)
async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    inbox, body, actor_id = payload.get("inbox"), payload.get("body"), payload.get("actor_id")
    by_instance = payload.get("instance") is True
    if (
        not isinstance(inbox, str)
        or not isinstance(body, str)
        or not (by_instance or isinstance(actor_id, int))
    ):
        raise PermanentJobError("a delivery needs inbox, body and actor_id")
    domain = _domain_of(inbox)
    container = ctx.container

    async with container.db.uow(write=False) as uow:
        session = uow.session
        actor = await session.get(Account, actor_id) if isinstance(actor_id, int) else None
        host = await delivery_hosts.get(session, domain)
        suspended = (await domain_blocks.policy_for(session, domain)).suspended
        signer: Callable[[Scheme], Signer] | None = None
        if actor is not None and actor.is_local and actor.private_key_pem and _may_sign(actor, payload):
            signer = partial(account_signer, actor, container.uris)
        known_scheme = await knock.remembered(session, domain)
        was_failing = host is not None and (host.failing_since is not None or host.unavailable_at is not None)
        unavailable = host is not None and host.unavailable_at is not None
    if by_instance:
        signer = await instance_signers(container)

    if signer is None:
        log.info("delivery to %s dropped: account %s cannot sign any more", inbox, actor_id)
        return
    if suspended:
        log.info("delivery to %s dropped: %s is suspended", inbox, domain)
        return
    if unavailable:
        log.info("delivery to %s skipped: %s is unavailable", inbox, domain)
        return

    result = await knock.post_signed(container, inbox, body.encode("utf-8"), signer, domain, known_scheme)

    if result.ok:
        if was_failing:
            async with container.db.uow() as uow:
                await delivery_hosts.record_success(uow.session, domain)
        return
    if result.permanent_failure:
        raise PermanentJobError(f"{inbox}: {result.status or 'refused'} {result.reason}".strip())
    async with container.db.uow() as uow:
        now_unavailable = await delivery_hosts.record_failure(uow.session, domain)
    if now_unavailable:
        log.warning("delivery to %s given up: %s has been failing for days", inbox, domain)
        return
    delay = result.retry_after if result.retry_after is not None else lookup(DELIVER).backoff(ctx.attempt)
    raise RetryLater(delay, f"{inbox}: {result.status or 'no answer'} {result.reason}".strip())
