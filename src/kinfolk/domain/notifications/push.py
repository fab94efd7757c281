"""Web Push: one subscription per access token, and the message each notification sends.

A notification enqueues one `push.deliver` job per subscription of its recipient whose alerts
and policy want it (the listener below, run inside `notify`); the job renders the message,
encrypts it and posts it (infra/webpush). Nothing touches the network on the request path.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import nh3

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.notifications import repo
from kinfolk.domain.notifications.models import Notification, PushSubscription
from kinfolk.domain.statuses.models import Status
from kinfolk.infra import webpush
from kinfolk.kernel.errors import NotFound, Unprocessable

POLICIES = ("all", "followed", "follower", "none")
# What can be switched on in `data[alerts]`: Mastodon's notification types, in its order.
ALERT_TYPES = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "quote",
    "quoted_update",
)
ENDPOINT_MAX = 2048
BODY_LENGTH = 140

# Mastodon's English notification titles.
_TITLES = {
    "mention": "You were mentioned by {name}",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} is now following you",
    "follow_request": "Pending follower: {name}",
    "favourite": "{name} favorited your post",
    "poll": "A poll by {name} has ended",
    "update": "{name} edited a post",
    "admin.sign_up": "{name} signed up",
    "admin.report": "{name} submitted a report",
    "quote": "{name} quoted your post",
    "quoted_update": "{name} edited a post you have quoted",
}


@dataclass(frozen=True)
class SubscriptionInput:
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""
    standard: bool = False
    alerts: dict[str, bool] = field(default_factory=dict)
    policy: str = "all"


def _invalid(field_name: str, message: str) -> Unprocessable:
    label = field_name.replace("_", " ").capitalize()
    return Unprocessable(
        f"Validation failed: {label} {message}",
        details={field_name: [{"error": "ERR_INVALID", "description": message}]},
    )


def check_policy(value: Any) -> str:
    policy = str(value) if value is not None and value != "" else "all"
    if policy not in POLICIES:
        raise _invalid("policy", "is not included in the list")
    return policy


def _check_subscription(data: SubscriptionInput) -> None:
    endpoint = data.endpoint.strip()
    parts = urlsplit(endpoint)
    if (
        not endpoint
        or len(endpoint) > ENDPOINT_MAX
        or parts.scheme not in ("http", "https")
        or not parts.netloc
    ):
        raise _invalid("endpoint", "is not a valid URL")
    try:
        webpush.parse_p256dh(data.p256dh)
    except webpush.InvalidKey as exc:
        raise _invalid("key_p256dh", "is invalid") from exc
    try:
        webpush.parse_auth(data.auth)
    except webpush.InvalidKey as exc:
        raise _invalid("key_auth", "is invalid") from exc


async def subscribe(
    uow: UnitOfWork,
    account_id: int,
    token_id: int,
    token_plain: str,
    secret_key: str,
    data: SubscriptionInput,
) -> PushSubscription:
    """Replace this token's subscription with a new one (Mastodon keeps one per token)."""
    _check_subscription(data)
    await repo.delete_subscription_for_token(uow.session, token_id)
    subscription = PushSubscription(
        access_token_id=token_id,
        account_id=account_id,
        endpoint=data.endpoint.strip(),
        key_p256dh=data.p256dh.strip(),
        key_auth=data.auth.strip(),
        alerts=data.alerts,
        policy=data.policy,
        standard=data.standard,
        access_token_sealed=webpush.seal(secret_key, token_plain),
    )
    await repo.add_subscription(uow.session, subscription)
    return subscription


async def current(uow: UnitOfWork, token_id: int) -> PushSubscription:
    subscription = await repo.subscription_for_token(uow.session, token_id)
    if subscription is None:
        raise NotFound()
    return subscription


async def change(uow: UnitOfWork, token_id: int, alerts: dict[str, bool], policy: str) -> PushSubscription:
    """Only the data part changes; a new endpoint or keys need a new subscription."""
    subscription = await current(uow, token_id)
    subscription.alerts = alerts
    subscription.policy = policy
    await uow.session.flush()
    return subscription


async def unsubscribe(uow: UnitOfWork, token_id: int) -> None:
    await repo.delete_subscription_for_token(uow.session, token_id)


# -- sending ----------------------------------------------------------------------------------


async def enqueue_push_deliveries(uow: UnitOfWork, notification: Notification) -> None:
    """The `on_notification` listener: one job per subscription that wants this notification."""
    subscriptions = await repo.push_wants(uow.session, notification.account_id)
    wanted = [(id_, policy) for id_, alerts, policy in subscriptions if alerts.get(notification.type) is True]
    if not wanted:
        return
    follows = followed_by = False
    if any(policy in ("followed", "follower") for _, policy in wanted):
        follows, followed_by = await repo.follow_facts(
            uow.session, notification.account_id, notification.from_account_id
        )
    for subscription_id, policy in wanted:
        allowed = {"all": True, "none": False, "followed": follows, "follower": followed_by}
        if allowed.get(policy, False):
            await uow.enqueue(
                "push.deliver", {"notification_id": notification.id, "subscription_id": subscription_id}
            )


def _plain(text: str) -> str:
    return html.unescape(nh3.clean(text, tags=set())).strip()


def _truncate(text: str, length: int = BODY_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def push_message(
    notification: Notification,
    sender: Account,
    status: Status | None,
    *,
    access_token: str | None,
    locale: str,
    icon: str,
) -> dict[str, Any]:
    """Mastodon's push payload: what a service worker needs to show the notification."""
    name = sender.display_name or sender.username
    if status is not None:
        body = status.spoiler_text or status.text or _plain(status.content)
    else:
        body = _plain(sender.note)
    return {
        "access_token": access_token,
        "preferred_locale": locale,
        "notification_id": str(notification.id),
        "notification_type": notification.type,
        "icon": icon,
        "title": _TITLES.get(notification.type, "{name}").format(name=name),
        "body": _truncate(body),
    }


def target_of(subscription: PushSubscription) -> webpush.PushTarget:
    return webpush.PushTarget(
        endpoint=subscription.endpoint,
        p256dh=subscription.key_p256dh,
        auth=subscription.key_auth,
        standard=subscription.standard,
    )
