"""The profile directory: accounts that opted in to being listed (`discoverable`), most
recently active or newest first, without those the viewer has shut out."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts import repo
from kinfolk.domain.accounts.models import Account
from kinfolk.kernel.clock import utcnow

Order = Literal["active", "new"]


def parse_order(value: object) -> Order:
    """`new` for the newest profiles; `active` (the default, and for anything unknown) for the
    most recent posters."""
    return "new" if value == "new" else "active"


async def list_profiles(
    session: AsyncSession,
    *,
    local_only: bool,
    order: Order,
    offset: int,
    limit: int,
    viewer_id: int | None,
) -> list[Account]:
    return await repo.directory(
        session,
        local_only=local_only,
        order=order,
        offset=offset,
        limit=limit,
        viewer_id=viewer_id,
        now=utcnow(),
    )
