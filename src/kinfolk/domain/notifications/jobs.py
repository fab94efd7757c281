"""Notification side effects run by the worker: staff notices, ended polls, Web Push delivery."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation import repo as moderation_repo
from kinfolk.domain.notifications import push, repo
from kinfolk.domain.notifications.service import notify_poll_ended, notify_staff
from kinfolk.domain.statuses.models import Status
from kinfolk.infra import webpush
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import RetryLater, handles
from kinfolk.jobs.scheduler import periodic

log = logging.getLogger("kinfolk.push")

MISSING_AVATAR_PATH = "/avatars/original/missing.png"


@handles("notifications.admin_sign_up")
async def admin_sign_up(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Payload: the new `user_id` (as sign-up has it) or `account_id`."""
    if "account_id" in payload:
        account_id: int | None = int(payload["account_id"])
    else:
        account_id = await repo.account_of_user(ctx.uow.session, int(payload["user_id"]))
    account = await ctx.uow.session.get(Account, account_id) if account_id is not None else None
    if account is None or account.suspended_at is not None:
        return
    await notify_staff(ctx.uow, type="admin.sign_up", from_account_id=account.id)


@handles("notifications.admin_report")
async def admin_report(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Tell staff about a report, unless an open report on the same account already did."""
    report = await moderation_repo.get_report(ctx.uow.session, int(payload["report_id"]))
    if report is None or await moderation_repo.has_open_siblings(ctx.uow.session, report):
        return
    await notify_staff(ctx.uow, type="admin.report", from_account_id=report.account_id, report_id=report.id)


@periodic("notifications.polls_expired", every=60)
@handles("notifications.polls_expired")
async def polls_expired(ctx: JobContext, payload: dict[str, Any]) -> None:
    await notify_poll_ended(ctx.uow)


def _icon(ctx: JobContext, sender: Account) -> str:
    if sender.suspended_at is None and sender.avatar_key:
        return ctx.container.storage.url(sender.avatar_key)
    if sender.suspended_at is None and sender.avatar_remote_url:
        return sender.avatar_remote_url
    return ctx.container.settings.base_url + MISSING_AVATAR_PATH


# Push services may be briefly unavailable; retry for about a day (15 s, 1 min, 4 min, ...).
@handles("push.deliver")
async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Render, encrypt and send one push; a subscription the push service rejects is deleted.

    The rows are read in a short unit of work of their own and the network call made outside
    any transaction, so that a slow push service never holds a database lock.
    """
    settings = ctx.container.settings
    subscription_id = int(payload["subscription_id"])
    async with ctx.container.db.uow(write=False) as uow:
        found = await repo.push_context(uow.session, subscription_id, int(payload["notification_id"]))
        if found is None:
            return
        subscription, notification, sender, user = found
        status = await uow.session.get(Status, notification.status_id) if notification.status_id else None
        if status is not None and status.deleted_at is not None:
            return
        message = push.push_message(
            notification,
            sender,
            status,
            access_token=webpush.unseal(settings.ensure_secret_key(), subscription.access_token_sealed or ""),
            locale=user.locale,
            icon=_icon(ctx, sender),
        )
        target = push.target_of(subscription)
    try:
        result = await webpush.send(settings, target, orjson.dumps(message))
    except webpush.DisallowedDestination as exc:
        log.warning(
            "push subscription %s points at a refused address (%s); removing it", subscription_id, exc
        )
        await repo.delete_subscription(ctx.uow.session, subscription_id)
        return
    except webpush.InvalidKey:
        await repo.delete_subscription(ctx.uow.session, subscription_id)
        return
    if result.ok:
        return
    if result.gone:
        await repo.delete_subscription(ctx.uow.session, subscription_id)
        return
    if result.retry_after is not None:
        raise RetryLater(result.retry_after, f"push service answered {result.status}")
    raise RuntimeError(f"push service answered {result.status}")
