"""Scheduled statuses: validated now, stored, and posted by a periodic job when due."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.service import PollParams
from kinfolk.domain.statuses import repo
from kinfolk.domain.statuses.models import IdempotencyKey, ScheduledStatus
from kinfolk.domain.statuses.service import PostParams, _load_media, _validate_common, post_status, referenced
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.paging import Page

MIN_AHEAD = timedelta(minutes=5)
MAX_PER_DAY = 25
MAX_TOTAL = 300


def _params_json(params: PostParams, when: datetime, idempotency_key: str | None) -> dict[str, Any]:
    data = dataclasses.asdict(params)
    data["scheduled_at"] = when.isoformat()
    data["idempotency"] = idempotency_key
    return data


def params_from_json(data: dict[str, Any]) -> PostParams:
    fields = {f.name for f in dataclasses.fields(PostParams)}
    values = {k: v for k, v in data.items() if k in fields}
    if values.get("poll"):
        values["poll"] = PollParams(**values["poll"])
    return PostParams(**values)


async def schedule(
    uow: UnitOfWork,
    settings: Settings,
    account: Account,
    params: PostParams,
    when: datetime,
    *,
    idempotency_key: str | None = None,
) -> ScheduledStatus:
    session = uow.session
    if idempotency_key:
        existing = await repo.find_idempotency(session, account.id, idempotency_key)
        if existing is not None and existing.scheduled_status_id is not None:
            found = await session.get(ScheduledStatus, existing.scheduled_status_id)
            if found is not None:
                return found
    if when < utcnow() + MIN_AHEAD:
        raise Unprocessable("Validation failed: Scheduled at The scheduled date must be in the future")
    _validate_common(settings, params)
    await referenced(session, account, params)
    media = await _load_media(session, account, params.media_ids, None)
    await check_limits(session, account.id, when)
    item = ScheduledStatus(
        account_id=account.id,
        scheduled_at=when,
        params=_params_json(params, when, idempotency_key),
        media_attachment_ids=[m.id for m in media],
        application_id=params.application_id,
    )
    session.add(item)
    await session.flush()
    if idempotency_key:
        session.add(IdempotencyKey(account_id=account.id, key=idempotency_key, scheduled_status_id=item.id))
        await session.flush()
    return item


async def check_limits(
    session: AsyncSession, account_id: int, when: datetime, *, moving: int | None = None
) -> None:
    """Mastodon's ScheduledStatusValidator: at most MAX_TOTAL scheduled posts per account, and
    MAX_PER_DAY on the (UTC) day of `when`. `moving` is a scheduled post being rescheduled: it
    does not count against itself. Bounded: an account holds at most MAX_TOTAL rows."""
    rows = (
        await session.execute(
            select(ScheduledStatus.id, ScheduledStatus.scheduled_at).where(
                ScheduledStatus.account_id == account_id
            )
        )
    ).all()
    others = [at for item_id, at in rows if item_id != moving]
    if moving is None and len(others) >= MAX_TOTAL:
        raise Unprocessable(f"Validation failed: You have exceeded the limit of {MAX_TOTAL} scheduled posts")
    day = when.astimezone(UTC).date()
    if sum(1 for at in others if at.astimezone(UTC).date() == day) >= MAX_PER_DAY:
        raise Unprocessable(
            f"Validation failed: You have exceeded the limit of {MAX_PER_DAY} scheduled posts for today"
        )


async def list_for(session: AsyncSession, account_id: int, page: Page) -> list[ScheduledStatus]:
    stmt = select(ScheduledStatus).where(ScheduledStatus.account_id == account_id)
    return page.arrange(list((await session.execute(page.apply(stmt, ScheduledStatus.id))).scalars()))


async def get_own(session: AsyncSession, account_id: int, scheduled_id: int) -> ScheduledStatus:
    item = await session.get(ScheduledStatus, scheduled_id)
    if item is None or item.account_id != account_id:
        raise NotFound()
    return item


async def reschedule(session: AsyncSession, item: ScheduledStatus, when: datetime) -> ScheduledStatus:
    if when < utcnow() + MIN_AHEAD:
        raise Unprocessable("Validation failed: Scheduled at The scheduled date must be in the future")
    await check_limits(session, item.account_id, when, moving=item.id)
    item.scheduled_at = when
    item.params = {**item.params, "scheduled_at": when.isoformat()}
    await session.flush()
    return item


async def cancel(session: AsyncSession, item: ScheduledStatus) -> None:
    await session.delete(item)
    await session.flush()


async def media_for(session: AsyncSession, items: list[ScheduledStatus]) -> dict[int, MediaAttachment]:
    ids = {i for item in items for i in item.media_attachment_ids or []}
    if not ids:
        return {}
    result = await session.execute(select(MediaAttachment).where(MediaAttachment.id.in_(ids)))
    return {m.id: m for m in result.scalars()}


async def publish_due(uow: UnitOfWork, settings: Settings, *, limit: int = 100) -> int:
    """Post every scheduled status whose time has come; each becomes a normal status."""
    session = uow.session
    due = list(
        (
            await session.execute(
                select(ScheduledStatus)
                .where(ScheduledStatus.scheduled_at <= utcnow())
                .order_by(ScheduledStatus.scheduled_at)
                .limit(limit)
            )
        ).scalars()
    )
    for item in due:
        account = await session.get(Account, item.account_id)
        user = (
            await session.execute(select(User).where(User.account_id == item.account_id))
        ).scalar_one_or_none()
        params = params_from_json(item.params)
        await session.delete(item)
        await session.flush()
        if account is None or account.suspended_at is not None:
            continue
        try:
            async with session.begin_nested():
                await post_status(uow, settings, account, user, params)
        except (Unprocessable, NotFound):
            # The thread or media went away meanwhile; the post cannot be made as scheduled.
            continue
    return len(due)
