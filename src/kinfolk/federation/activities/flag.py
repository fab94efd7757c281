"""`Flag`: a report from another server about our accounts and posts.

Its objects name the reported account(s) and posts (an array, as Mastodon sends it); anything
that is not ours is ignored. Each local account named gets one report, filed under the actor
that sent the `Flag` (Mastodon's servers send it as their instance actor), with the named posts
that are that account's own, the `content` as its comment. A server whose domain block says
`reject_reports` files nothing.
"""

from __future__ import annotations

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation import service as moderation
from kinfolk.domain.moderation.domain_blocks import policy_for
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.activities.lookup import local_account, local_status
from kinfolk.federation.parse.activity import ParsedActivity


@handles_activity("Flag")
async def flag(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    session = ctx.uow.session
    uris = ctx.container.uris
    domain = (ctx.actor.domain or "").split(":", 1)[0]
    if (await policy_for(session, domain)).reject_reports:
        return "reports from this server are rejected"
    targets: list[Account] = []
    status_ids: list[int] = []
    for object_id in activity.object_ids:
        account = await local_account(session, uris, object_id)
        if account is not None:
            if account.id not in {t.id for t in targets}:
                targets.append(account)
            continue
        status = await local_status(session, uris, object_id)
        if status is not None:
            status_ids.append(status.id)
    if not targets:
        return "no local account reported"
    for n, target in enumerate(targets):
        uri = activity.id if n == 0 else None
        await moderation.receive_remote_report(
            ctx.uow, ctx.actor, target, status_ids, activity.content or "", uri
        )
    return None
