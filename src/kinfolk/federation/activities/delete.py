"""`Delete` of a post (or its `Tombstone`) or of an actor.

A post goes by its author's `Delete` (checklist 25); its id is kept as a tombstone so that a
`Create` delivered after the `Delete` stores nothing (checklist 79). An id not stored yet is
tombstoned too, when it is on the actor's origin (nobody can bury another server's posts).
An actor deletes only itself (its id as the object, or a `Tombstone` of it); then everything of
it goes, as Mastodon does (`domain/accounts/deletion.py`, bounded batches beyond the first);
the row stays, deleted and without a key, so later activities signed with it are not believed.

A `Delete` of a stored post or actor sent by someone else (forwarded by another server, or
naming what is not the sender's) is believed only when the object's own origin says it is
gone: a 404 or 410 from there, or a `Tombstone` (`dereference.gone_at_origin`, asked before
the job's unit of work is used). A forged one changes nothing while the origin still serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.deletion import delete_remote_account
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status, Tombstone
from kinfolk.domain.statuses.service import delete_status
from kinfolk.federation import dereference
from kinfolk.federation.activities import IngressContext, handles_activity
from kinfolk.federation.parse.activity import ParsedActivity
from kinfolk.federation.parse.values import same_origin


@dataclass(frozen=True)
class _Target:
    """What a `Delete` names, as stored here: a status (its id, author, whether local and
    deleted already) or a remote account (its id), or neither."""

    status_id: int | None = None
    author_id: int | None = None
    local: bool = False
    deleted: bool = False
    account_id: int | None = None


async def _find(ctx: IngressContext, uri: str) -> _Target:
    """Read in a short unit of work of its own, so that a fetch may follow with none open."""
    async with ctx.container.db.uow(write=False) as read:
        status = (await read.session.execute(select(Status).where(Status.uri == uri))).scalar_one_or_none()
        if status is not None:
            return _Target(status.id, status.account_id, status.local, status.deleted_at is not None)
        account = (
            await read.session.execute(
                select(Account.id).where(Account.uri == uri, Account.domain.is_not(None))
            )
        ).scalar_one_or_none()
        return _Target(account_id=account)


@handles_activity("Delete")
async def on_delete(ctx: IngressContext, activity: ParsedActivity) -> str | None:
    actor = ctx.actor
    target = activity.object_id
    if actor.uri is None or target is None:
        return None
    uow = ctx.job.uow
    if target == actor.uri:
        await remove_actor(uow, actor)
        return None
    found = await _find(ctx, target)
    if found.status_id is not None and found.author_id is not None:
        if found.local:
            return "a local post"
        if found.author_id != actor.id and (
            found.deleted or not await dereference.gone_at_origin(ctx.container, target)
        ):
            return "not the sender's post, and deleted already or still served by its origin"
        author = await uow.session.get(Account, found.author_id)
        if author is None:
            return None
        if not found.deleted:
            await delete_status(uow, author, found.status_id)
        await tombstone(uow, target, author.id)
        return None
    if found.account_id is not None:
        if not await dereference.gone_at_origin(ctx.container, target):
            return "not the sender's account, and its origin still serves it"
        gone = await uow.session.get(Account, found.account_id)
        if gone is not None:
            await remove_actor(uow, gone)
        return None
    if same_origin(target, actor.uri):
        await tombstone(uow, target, actor.id)
    return None


async def tombstone(uow: UnitOfWork, uri: str, account_id: int | None) -> None:
    if await uow.session.get(Tombstone, uri) is None:
        uow.session.add(Tombstone(uri=uri, account_id=account_id))
        await uow.session.flush()


async def remove_actor(uow: UnitOfWork, account: Account) -> None:
    """A remote actor deleted itself: everything of it goes (`domain/accounts/deletion.py`)."""
    if account.domain is not None:
        await delete_remote_account(uow, account)
