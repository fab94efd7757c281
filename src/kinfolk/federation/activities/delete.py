"""`Delete` of a post (or its `Tombstone`) or of an actor.

A post goes only by its author's `Delete` (checklist 25); its id is kept as a tombstone so that
a `Create` delivered after the `Delete` stores nothing (checklist 79). An id not stored yet is
tombstoned too, when it is on the actor's origin (nobody can bury another server's posts).
An actor deletes only itself (its id as the object, or a `Tombstone` of it); then everything of
it goes, as Mastodon does (`domain/accounts/deletion.py`, bounded batches beyond the first);
the row stays, deleted and without a key, so later activities signed with it are not believed.
"""

from __future__ import annotations

from sqlalchemy import select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.deletion import delete_remote_account
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.domain.statuses.service import delete_status
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import same_origin


@handles_activity("Delete")
async def on_delete(ctx: IngressContext, activity: ParsedActivity) -> None:
    actor = ctx.actor
    target = activity.object_id
    if actor.uri is None or target is None:
        return
    uow = ctx.job.uow
    if target == actor.uri:
        await remove_actor(uow, actor)
        return
    status = (await uow.session.execute(select(Status).where(Status.uri == target))).scalar_one_or_none()
    if status is not None:
        if status.account_id != actor.id or status.local:
            return
        if status.deleted_at is None:
            await delete_status(uow, actor, status.id)
    elif not same_origin(target, actor.uri):
        return
    await tombstone(uow, target, actor.id)


async def tombstone(uow: UnitOfWork, uri: str, account_id: int | None) -> None:
    if await uow.session.get(Tombstone, uri) is None:
        uow.session.add(Tombstone(uri=uri, account_id=account_id))
        await uow.session.flush()


async def remove_actor(uow: UnitOfWork, account: Account) -> None:
    """A remote actor deleted itself: everything of it goes (`domain/accounts/deletion.py`)."""
    if account.domain is not None:
        await delete_remote_account(uow, account)
