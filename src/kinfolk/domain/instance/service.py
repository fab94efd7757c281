"""Rules for what the server says about itself: its rules, usage figures, activity and contact.

Everything here is public information; the counts deliberately leave out people who cannot use
the server (unapproved, unconfirmed, disabled or suspended), as Mastodon's do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.config import Settings
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance import repo
from kinfolk.domain.instance.models import Rule
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import BadRequest, NotFound, Unprocessable
from kinfolk.kernel.uris import Uris

RULE_TEXT_MAX = 1000
RULE_HINT_MAX = 2000
ACTIVITY_WEEKS = 12
ACTIVE_MONTH_DAYS = 30
ACTIVE_HALFYEAR_DAYS = 180

# --- rules -------------------------------------------------------------------------------------


async def list_rules(session: AsyncSession) -> list[Rule]:
    return await repo.list_rules(session)


async def add_rule(session: AsyncSession, text: str, hint: str = "", position: int | None = None) -> Rule:
    """A new rule, placed last unless a position is given."""
    text = text.strip()
    hint = hint.strip()
    errors: dict[str, list[dict[str, str]]] = {}
    if not text:
        errors["text"] = [{"error": "ERR_BLANK", "description": "can't be blank"}]
    elif len(text) > RULE_TEXT_MAX:
        errors["text"] = [
            {"error": "ERR_TOO_LONG", "description": f"is too long (maximum is {RULE_TEXT_MAX} characters)"}
        ]
    if len(hint) > RULE_HINT_MAX:
        errors["hint"] = [
            {"error": "ERR_TOO_LONG", "description": f"is too long (maximum is {RULE_HINT_MAX} characters)"}
        ]
    if errors:
        summary = ", ".join(f"{field} {items[0]['description']}" for field, items in errors.items())
        raise Unprocessable(f"Validation failed: {summary}", details=errors)
    if position is None:
        last = await repo.max_rule_position(session)
        position = 0 if last is None else last + 1
    rule = Rule(text=text, hint=hint, position=position)
    session.add(rule)
    await session.flush()
    return rule


async def remove_rule(session: AsyncSession, rule_id: int) -> Rule:
    """Soft-delete: reports that cited the rule keep pointing at it."""
    rule = await repo.get_rule(session, rule_id)
    if rule is None:
        raise NotFound()
    rule.deleted_at = utcnow()
    await session.flush()
    return rule


# --- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    user_count: int
    active_month: int
    active_halfyear: int
    status_count: int
    domain_count: int


async def usage(session: AsyncSession, now: datetime | None = None) -> Usage:
    now = now or utcnow()
    users = await repo.user_counts(
        session,
        month_start=now - timedelta(days=ACTIVE_MONTH_DAYS),
        halfyear_start=now - timedelta(days=ACTIVE_HALFYEAR_DAYS),
    )
    return Usage(
        user_count=users.total,
        active_month=users.active_month,
        active_halfyear=users.active_halfyear,
        status_count=await repo.local_status_count(session),
        domain_count=await repo.remote_domain_count(session),
    )


# How long a process reuses the usage figures. Every app asks for them when it starts
# (`/api/v1/instance`), crawlers through NodeInfo, and counting users and posts took 10-30 ms;
# Mastodon caches them too.
USAGE_TTL = 60.0
_USAGE_KEY = "instance.usage"


class UsageCache:
    """The usage figures, counted at most once per `ttl` seconds."""

    def __init__(self, ttl: float = USAGE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._value: Usage | None = None
        self._counted_at = 0.0

    async def get(self, session: AsyncSession) -> Usage:
        now = self.clock()
        if self._value is None or now - self._counted_at >= self.ttl:
            self._value = await usage(session)
            self._counted_at = now
        return self._value


def usage_cache(store: MutableMapping[str, Any]) -> UsageCache:
    """The process's cache, kept in `store` (the container's extras: one per database)."""
    cache = store.get(_USAGE_KEY)
    if not isinstance(cache, UsageCache):
        cache = store[_USAGE_KEY] = UsageCache()
    return cache


async def peers(session: AsyncSession) -> list[str]:
    return await repo.remote_domains(session)


@dataclass(frozen=True)
class WeekActivity:
    week: datetime
    statuses: int
    logins: int
    registrations: int


def week_starts(now: datetime, weeks: int = ACTIVITY_WEEKS) -> list[datetime]:
    """Monday 00:00 UTC of the current week and the `weeks - 1` before it, oldest first."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]


async def weekly_activity(session: AsyncSession, now: datetime | None = None) -> list[WeekActivity]:
    """The last twelve weeks, newest first, as Mastodon lists them."""
    starts = week_starts(now or utcnow())
    edges = [*starts, starts[-1] + timedelta(weeks=1)]
    registrations, logins = await repo.weekly_user_activity(session, edges)
    statuses = await repo.weekly_local_statuses(session, edges)
    weeks = [
        WeekActivity(week=start, statuses=s, logins=lo, registrations=r)
        for start, s, lo, r in zip(starts, statuses, logins, registrations, strict=True)
    ]
    weeks.reverse()
    return weeks


# --- contact -----------------------------------------------------------------------------------


async def contact_account(session: AsyncSession, settings: Settings) -> Account | None:
    """The configured contact, or else the first owner; None when neither exists."""
    account: Account | None = None
    if settings.contact_username:
        account = await repo.get_local_account(session, settings.contact_username.lstrip("@"))
        if account is not None and account.suspended_at is not None:
            account = None
    if account is None:
        account = await repo.first_owner_account(session)
    return account


@dataclass(frozen=True)
class Overview:
    """What the instance endpoints show, gathered in one unit of work."""

    usage: Usage
    rules: list[Rule]
    contact: Account | None


async def overview(session: AsyncSession, settings: Settings, cache: UsageCache) -> Overview:
    return Overview(
        usage=await cache.get(session),
        rules=await list_rules(session),
        contact=await contact_account(session, settings),
    )


# --- webfinger ---------------------------------------------------------------------------------

_WEBFINGER_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def webfinger_username(resource: str | None, uris: Uris) -> str:
    """The local username a WebFinger `resource` names.

    Accepted: `acct:user@domain` (also without `acct:`, or with a leading `@`), and our actor
    and profile URLs. Missing or malformed is a 400; another host or an unknown path is a 404,
    since it is not ours to answer for.
    """
    resource = (resource or "").strip()
    if not resource:
        raise BadRequest("The resource parameter is required")
    domain = uris.host
    if re.match(r"^https?://", resource, re.IGNORECASE):
        try:
            urlsplit(resource).port  # noqa: B018 - reading the port is what checks it
        except ValueError as exc:
            raise BadRequest("Malformed resource") from exc
        found = uris.parse_actor(resource)
        if found is None:  # another host, or none of our actor and profile URLs
            raise NotFound()
        username = found
    elif "@" in resource:
        acct = resource[5:] if resource[:5].lower() == "acct:" else resource
        username, _, host = acct.lstrip("@").rpartition("@")
        if not username or not host or "@" in username:
            raise BadRequest("Malformed resource")
        if host.lower().rstrip(".") != domain:
            raise NotFound()
    else:
        raise BadRequest("Malformed resource")
    if not _WEBFINGER_USERNAME.match(username):
        raise BadRequest("Malformed resource")
    return username


async def webfinger_account(session: AsyncSession, resource: str | None, uris: Uris) -> Account:
    account = await repo.get_local_account(session, webfinger_username(resource, uris))
    if account is None or account.deleted_at is not None:
        raise NotFound()
    return account


# --- health ------------------------------------------------------------------------------------


async def check_database(session: AsyncSession) -> None:
    await repo.ping(session)
