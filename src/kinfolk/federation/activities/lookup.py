"""Finding the local rows an incoming activity names: our accounts and statuses by their URLs,
and the follows and boosts a remote actor made here by their ActivityPub ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.statuses.models import Status
from kinfolk.federation.parse.values import first_id
from kinfolk.kernel.uris import Uris


async def local_account(session: AsyncSession, uris: Uris, url: str | None) -> Account | None:
    """The local account `url` names (its id or profile page), if it exists and is not suspended."""
    username = uris.parse_actor(url) if url else None
    if username is None:
        return None
    found = await session.execute(
        select(Account).where(
            Account.domain.is_(None), Account.username == username, Account.suspended_at.is_(None)
        )
    )
    return found.scalar_one_or_none()


async def local_status(session: AsyncSession, uris: Uris, url: str | None) -> Status | None:
    """The local, not deleted status `url` names (its id or page)."""
    parsed = uris.parse_status(url) if url else None
    if parsed is None:
        return None
    username, status_id = parsed
    found = await session.execute(
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.id == status_id,
            Status.local.is_(True),
            Status.deleted_at.is_(None),
            Account.domain.is_(None),
            Account.username == username,
        )
    )
    return found.scalar_one_or_none()


def embedded(activity_object: object) -> Mapping[str, Any] | None:
    return activity_object if isinstance(activity_object, Mapping) else None


def embedded_field(activity_object: object, name: str) -> str | None:
    """An id-valued field (`actor`, `object`) of an embedded object, None when not embedded."""
    found = embedded(activity_object)
    return first_id(found.get(name)) if found is not None else None
