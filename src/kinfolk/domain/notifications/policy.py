"""The notification policy a user sets, and the requests that filtered notifications open.

Accepting a request lets that sender's notifications through from then on (a permission) and
merges the ones held back into the main list; dismissing it deletes them. Both act only on the
viewer's own requests: anyone else's id is simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications import repo
from kinfolk.domain.notifications.models import NotificationPolicy, NotificationRequest
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.paging import Page

CATEGORIES = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)
# The v1 policy speaks booleans for the first four categories.
V1_FLAGS = {
    "filter_not_following": "for_not_following",
    "filter_not_followers": "for_not_followers",
    "filter_new_accounts": "for_new_accounts",
    "filter_private_mentions": "for_private_mentions",
}
ACTIONS = ("accept", "filter", "drop")
SUMMARY_CAP = 100
BULK_MAX = 100


@dataclass(frozen=True)
class PolicyView:
    policy: NotificationPolicy
    pending_requests_count: int
    pending_notifications_count: int


async def _view(session: AsyncSession, policy: NotificationPolicy) -> PolicyView:
    requests, notifications = await repo.request_summary(session, policy.account_id, SUMMARY_CAP)
    return PolicyView(policy, requests, notifications)


async def get(uow: UnitOfWork, account_id: int) -> PolicyView:
    policy = await repo.get_policy(uow.session, account_id)
    if policy is None:
        policy = NotificationPolicy(
            account_id=account_id,
            for_not_following="accept",
            for_not_followers="accept",
            for_new_accounts="accept",
            for_private_mentions="filter",
            for_limited_accounts="filter",
        )
    return await _view(uow.session, policy)


def _invalid(field: str) -> Unprocessable:
    label = field.replace("_", " ").capitalize()
    return Unprocessable(
        f"Validation failed: {label} is not included in the list",
        details={field: [{"error": "ERR_INCLUSION", "description": "is not included in the list"}]},
    )


async def update(uow: UnitOfWork, account_id: int, changes: Mapping[str, Any]) -> PolicyView:
    """Set the categories given (accept, filter or drop); anything else is a 422, nothing saved."""
    values: dict[str, str] = {}
    for category in CATEGORIES:
        if category in changes and changes[category] is not None:
            value = str(changes[category])
            if value not in ACTIONS:
                raise _invalid(category)
            values[category] = value
    policy = await repo.ensure_policy(uow.session, account_id)
    for category, value in values.items():
        setattr(policy, category, value)
    await uow.session.flush()
    return await _view(uow.session, policy)


async def update_v1(uow: UnitOfWork, account_id: int, flags: Mapping[str, bool]) -> PolicyView:
    return await update(
        uow, account_id, {V1_FLAGS[k]: "filter" if v else "accept" for k, v in flags.items() if k in V1_FLAGS}
    )


# -- requests ---------------------------------------------------------------------------------


@dataclass
class RequestPage:
    requests: list[NotificationRequest]
    accounts: dict[int, Account]
    # Last statuses the viewer may still see.
    statuses: dict[int, Status]


async def _with_rows(
    session: AsyncSession, viewer_id: int, requests: list[NotificationRequest]
) -> RequestPage:
    accounts = await repo.accounts_by_id(session, {r.from_account_id for r in requests})
    statuses = await repo.visible_statuses_by_id(
        session, {r.last_status_id for r in requests if r.last_status_id is not None}, viewer_id
    )
    return RequestPage(requests, accounts, statuses)


async def requests_page(session: AsyncSession, viewer_id: int, page: Page) -> RequestPage:
    return await _with_rows(session, viewer_id, await repo.page_requests(session, viewer_id, page))


async def _own(session: AsyncSession, viewer_id: int, request_id: int) -> NotificationRequest:
    found = await repo.get_requests(session, viewer_id, [request_id])
    if not found:
        raise NotFound()
    return found[0]


async def request(session: AsyncSession, viewer_id: int, request_id: int) -> RequestPage:
    return await _with_rows(session, viewer_id, [await _own(session, viewer_id, request_id)])


async def _accept(uow: UnitOfWork, request: NotificationRequest) -> None:
    await repo.permit(uow.session, request.account_id, request.from_account_id)
    await repo.unfilter_from(uow.session, request.account_id, request.from_account_id)
    await repo.delete_request(uow.session, request.id)


async def _dismiss(uow: UnitOfWork, request: NotificationRequest) -> None:
    await repo.delete_filtered_from(uow.session, request.account_id, request.from_account_id)
    await repo.delete_request(uow.session, request.id)


async def accept(uow: UnitOfWork, viewer_id: int, request_id: int) -> None:
    await _accept(uow, await _own(uow.session, viewer_id, request_id))


async def dismiss(uow: UnitOfWork, viewer_id: int, request_id: int) -> None:
    await _dismiss(uow, await _own(uow.session, viewer_id, request_id))


async def accept_many(uow: UnitOfWork, viewer_id: int, ids: Sequence[int]) -> None:
    """Unknown ids and other people's requests are skipped, as Mastodon does."""
    for found in await repo.get_requests(uow.session, viewer_id, list(dict.fromkeys(ids))[:BULK_MAX]):
        await _accept(uow, found)


async def dismiss_many(uow: UnitOfWork, viewer_id: int, ids: Sequence[int]) -> None:
    for found in await repo.get_requests(uow.session, viewer_id, list(dict.fromkeys(ids))[:BULK_MAX]):
        await _dismiss(uow, found)
