"""Reading notifications: v1 pages, v2 grouped pages, single ones, unread counts, dismissal.

A page is read in a fixed number of queries: the page itself (a plain range scan for v1, one
recursive query for v2 groups), then each kind of row it points at in one query each, then the
viewer's filters (a `hide` filter in the notifications context removes the notification).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.filters.apply import FilterMatch, apply_filters
from kinfolk.domain.moderation.models import Report
from kinfolk.domain.notifications import repo
from kinfolk.domain.notifications.models import NOTIFICATION_TYPES, Notification
from kinfolk.domain.notifications.repo import Browse
from kinfolk.domain.notifications.service import GROUPABLE, MAX_MEANINGFUL_COUNT
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.errors import NotFound
from kinfolk.kernel.paging import Page

SAMPLE_ACCOUNTS = 8
FILTER_CONTEXT = "notifications"


def browse_for(
    viewer_id: int,
    *,
    types: Iterable[str] = (),
    exclude_types: Iterable[str] = (),
    from_account_id: int | None = None,
    include_filtered: bool = False,
) -> Browse:
    """Mastodon's type selection: the known `types` (all if none given) less `exclude_types`."""
    asked = [str(t) for t in types]
    wanted = {t for t in asked if t in NOTIFICATION_TYPES} if asked else set(NOTIFICATION_TYPES)
    wanted -= {str(t) for t in exclude_types}
    return Browse(
        viewer_id=viewer_id,
        types=None if wanted == set(NOTIFICATION_TYPES) else frozenset(wanted),
        from_account_id=from_account_id,
        include_filtered=include_filtered,
    )


def grouped_types_for(raw: Iterable[str] | None) -> tuple[str, ...] | None:
    """None groups every groupable type; a list restricts grouping to the groupable ones named."""
    if raw is None:
        return None
    wanted = {str(t) for t in raw}
    return tuple(t for t in GROUPABLE if t in wanted)


@dataclass
class Loaded:
    """The rows a page of notifications points at, each kind loaded in one query."""

    accounts: dict[int, Account] = field(default_factory=dict)
    statuses: dict[int, Status] = field(default_factory=dict)
    filter_results: dict[int, list[FilterMatch]] = field(default_factory=dict)
    reports: dict[int, Report] = field(default_factory=dict)


async def _load(
    session: AsyncSession,
    viewer_id: int,
    notifications: list[Notification],
    extra_accounts: Iterable[int] = (),
) -> tuple[list[Notification], Loaded]:
    """Load what the notifications point at; drop those whose status a `hide` filter removes."""
    status_ids = {n.status_id for n in notifications if n.status_id is not None}
    statuses = await repo.visible_statuses_by_id(session, status_ids, viewer_id)
    kept_statuses, results = await apply_filters(session, viewer_id, list(statuses.values()), FILTER_CONTEXT)
    shown = {s.id: s for s in kept_statuses}
    kept = [n for n in notifications if n.status_id is None or n.status_id in shown]
    reports = await repo.reports_by_id(session, {n.report_id for n in kept if n.report_id is not None})
    account_ids = {n.from_account_id for n in kept} | set(extra_accounts)
    account_ids |= {r.target_account_id for r in reports.values()}
    accounts = await repo.accounts_by_id(session, account_ids)
    return kept, Loaded(accounts=accounts, statuses=shown, filter_results=results, reports=reports)


# -- v1 ---------------------------------------------------------------------------------------


@dataclass
class NotificationPage:
    notifications: list[Notification]
    # Pagination ids of the page as read (before filters removed any), newest first.
    ids: list[int]
    loaded: Loaded


async def page_of(session: AsyncSession, browse: Browse, page: Page) -> NotificationPage:
    rows = await repo.page_notifications(session, browse, page)
    kept, loaded = await _load(session, browse.viewer_id, rows)
    return NotificationPage(kept, [n.id for n in rows], loaded)


async def one(session: AsyncSession, viewer_id: int, notification_id: int) -> NotificationPage:
    browse = Browse(viewer_id=viewer_id, include_filtered=True)
    found = await repo.get_browsable(session, browse, notification_id)
    if found is None:
        raise NotFound()
    kept, loaded = await _load(session, viewer_id, [found])
    if not kept:
        raise NotFound()
    return NotificationPage(kept, [found.id], loaded)


async def unread_count(session: AsyncSession, browse: Browse, limit: int) -> int:
    marker = await repo.notifications_marker(session, browse.viewer_id)
    return await repo.count_after(session, browse, marker, limit)


async def _reconsider_requests(uow: UnitOfWork, account_id: int, senders: Iterable[int]) -> None:
    """After filtered notifications went away: recount their requests, drop the empty ones."""
    for sender_id in set(senders):
        request = await repo.get_request_from(uow.session, account_id, sender_id)
        if request is None:
            continue
        count = await repo.count_filtered_from(uow.session, account_id, sender_id, MAX_MEANINGFUL_COUNT)
        if count == 0:
            await repo.delete_request(uow.session, request.id)
        else:
            await repo.set_request_count(uow.session, request.id, count)


async def dismiss(uow: UnitOfWork, viewer_id: int, notification_id: int) -> None:
    removed = await repo.delete_one(uow.session, viewer_id, notification_id)
    if removed is None:
        raise NotFound()
    if removed.filtered:
        await _reconsider_requests(uow, viewer_id, [removed.from_account_id])


async def clear(uow: UnitOfWork, viewer_id: int) -> None:
    await repo.delete_all(uow.session, viewer_id)


# -- v2 ---------------------------------------------------------------------------------------


@dataclass
class Group:
    key: str
    notification: Notification
    count: int
    most_recent_id: int
    sample_account_ids: list[int]
    # Present when the group comes from a page (not from a single-group lookup).
    page_min_id: int | None = None
    latest_page_at: datetime | None = None
    paginated: bool = False


@dataclass
class GroupedPage:
    groups: list[Group]
    # Ids of the page's representative notifications as read, newest first (for the Link header).
    ids: list[int]
    loaded: Loaded


def _range(page: Page, rows: list[Notification]) -> tuple[int | None, int | None]:
    """The notification ids a page covers (Mastodon's pagination range), inclusive."""
    newest, oldest = rows[0].id, rows[-1].id
    if len(rows) >= page.limit:
        return oldest, newest
    if page.min_id is not None:
        return oldest, page.max_id - 1 if page.max_id is not None else None
    return (page.since_id + 1 if page.since_id is not None else None), newest


async def _groups(
    session: AsyncSession,
    viewer_id: int,
    rows: list[tuple[Notification, str]],
    window: tuple[int | None, int | None] | None,
) -> tuple[list[Group], Loaded]:
    keys = [key for n, key in rows if not key.startswith("ungrouped-")]
    begin, end = window if window is not None else (None, None)
    stats = await repo.group_stats(session, viewer_id, keys, begin, end)
    samples = await repo.group_samples(session, viewer_id, keys, end, SAMPLE_ACCOUNTS)
    extra = {a for ids in samples.values() for a in ids}
    kept, loaded = await _load(session, viewer_id, [n for n, _ in rows], extra)
    keep = {n.id for n in kept}
    groups = []
    for notification, key in rows:
        if notification.id not in keep:
            continue
        found = stats.get(key)
        if key.startswith("ungrouped-") or found is None:
            groups.append(
                Group(
                    key=key,
                    notification=notification,
                    count=1,
                    most_recent_id=notification.id,
                    sample_account_ids=[notification.from_account_id],
                    page_min_id=notification.id,
                    latest_page_at=notification.created_at,
                    paginated=window is not None,
                )
            )
            continue
        groups.append(
            Group(
                key=key,
                notification=notification,
                count=found.count,
                most_recent_id=found.most_recent_id,
                sample_account_ids=[a for a in samples.get(key, []) if a in loaded.accounts]
                or [notification.from_account_id],
                page_min_id=found.oldest_in_page_id,
                latest_page_at=found.latest_at,
                paginated=window is not None,
            )
        )
    return groups, loaded


async def grouped_page(
    session: AsyncSession, dialect: str, browse: Browse, page: Page, grouped_types: tuple[str, ...] | None
) -> GroupedPage:
    rows = await repo.grouped_page(session, dialect, browse, page, grouped_types)
    if not rows:
        return GroupedPage([], [], Loaded())
    window = _range(page, [n for n, _ in rows])
    groups, loaded = await _groups(session, browse.viewer_id, rows, window)
    return GroupedPage(groups, [n.id for n, _ in rows], loaded)


async def one_group(session: AsyncSession, viewer_id: int, group_key: str) -> GroupedPage:
    browse = Browse(viewer_id=viewer_id, include_filtered=True)
    latest = await repo.latest_in_group(session, browse, group_key)
    if latest is None:
        raise NotFound()
    groups, loaded = await _groups(session, viewer_id, [(latest, latest.group_key)], None)
    if not groups:
        raise NotFound()
    return GroupedPage(groups, [latest.id], loaded)


async def group_accounts(
    session: AsyncSession, viewer_id: int, group_key: str, page: Page
) -> list[tuple[int, Account]]:
    browse = Browse(viewer_id=viewer_id, include_filtered=True)
    return await repo.group_members(session, browse, group_key, page)


async def dismiss_group(uow: UnitOfWork, viewer_id: int, group_key: str) -> None:
    senders = await repo.delete_group(uow.session, viewer_id, group_key)
    await _reconsider_requests(uow, viewer_id, senders)


async def unread_group_count(
    session: AsyncSession, dialect: str, browse: Browse, limit: int, grouped_types: tuple[str, ...] | None
) -> int:
    marker = await repo.notifications_marker(session, browse.viewer_id)
    return await repo.count_groups(session, dialect, browse, marker, limit, grouped_types)
