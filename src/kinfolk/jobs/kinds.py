"""Every job kind the server knows, with its queue and retry policy, in one table.

Why a table apart from the handlers: the process that enqueues a job is often not one that runs
it. A `kinfolk web` process enqueues Web Push deliveries but never imports their handler; when the
queue and the attempts were declared beside the handler, such a process put the job on `default`
with 10 attempts, and a worker started with `--queues push` never saw it. This module imports
nothing heavier than the standard library, so every process (web, worker, scheduler, CLI) knows
every kind. Handlers bind to these names (`registry.handles`); `queue.enqueue` refuses a name that
is not here.

Queues follow Mastodon's split, so that slow work never delays fast work and operators can size
workers per queue (README, "Running scaled out"):

- `default`: local side effects of a request (fan-out, notifications, feeds, file removal);
- `scheduler`: periodic housekeeping inserted by the scheduler (`jobs/scheduler.py`);
- `push`: Web Push deliveries to browsers and apps;
- `media`: transcoding of uploaded video, audio and GIFs (CPU-bound, few at a time);
- `delivery`: federation: planning the recipients of an activity and POSTing it to inboxes;
- `ingress`: federation: processing activities received in our inboxes;
- `pull`: fetching remote objects and remote media.

There is no `mailers` queue: the server sends no mail.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

Backoff = Callable[[int], float]
"""Seconds to wait after failed attempt `n` (1 for the first run) before the next one."""


def exponential_backoff(base: float = 15.0, cap: float = 3 * 86400.0) -> Backoff:
    """Seconds to wait before attempt `n + 1`, growing as base * 4^(n-1) with +-25% jitter."""

    def delay(attempt: int) -> float:
        raw = min(cap, base * (4 ** max(0, attempt - 1)))
        return raw * random.uniform(0.75, 1.25)

    return delay


def delivery_backoff(attempt: int) -> float:
    """Mastodon's retry curve for deliveries: attempt^4 + 15 + rand(30) * (attempt + 1) seconds.

    A polynomial rather than an exponential, so that 16 attempts span about two days: a server
    that is down for a weekend still receives what was sent meanwhile, while one gone for good
    stops costing us requests after that. The jitter spreads the retries of the many deliveries
    that failed together (one server down) so they do not come back as one burst.
    """
    n = max(0, attempt)
    return float(n**4 + 15 + random.randrange(30) * (n + 1))


@dataclass(frozen=True)
class JobKind:
    """How jobs of one kind are queued and retried; the handler is bound separately."""

    name: str
    queue: str
    max_attempts: int = 10
    # A handler running longer than this may be claimed again by another worker (worker.py).
    lease_seconds: float = 300.0
    # Not compared: two declarations are the same kind whatever function object computes the delay.
    backoff: Backoff = field(default_factory=exponential_backoff, compare=False)


DEFAULT = "default"
SCHEDULER = "scheduler"
PUSH = "push"
MEDIA = "media"
DELIVERY = "delivery"
INGRESS = "ingress"
PULL = "pull"

QUEUES: tuple[str, ...] = (DEFAULT, SCHEDULER, PUSH, MEDIA, DELIVERY, INGRESS, PULL)
"""The server's own queues, in the order the README lists them."""

KINDS: tuple[JobKind, ...] = (
    # Posting and interactions (domain/statuses/jobs.py).
    JobKind("statuses.created", DEFAULT),
    JobKind("statuses.fan_out_slice", DEFAULT),
    JobKind("statuses.updated", DEFAULT),
    JobKind("statuses.removed", DEFAULT),
    JobKind("statuses.favourited", DEFAULT),
    JobKind("statuses.publish_scheduled", SCHEDULER, max_attempts=3),
    # Relationships and feeds (domain/relationships/jobs.py, domain/timelines/jobs.py).
    JobKind("feeds.merge", DEFAULT, max_attempts=5),
    JobKind("feeds.unmerge", DEFAULT, max_attempts=5),
    JobKind("relationships.domain_blocked", DEFAULT, max_attempts=5),
    JobKind("relationships.expire_mutes", SCHEDULER, max_attempts=3),
    JobKind("lists.merge", DEFAULT, max_attempts=5),
    JobKind("lists.unmerge", DEFAULT, max_attempts=5),
    JobKind("feeds.trim", SCHEDULER, max_attempts=3, lease_seconds=600),
    # A deleted account's rows, a bounded batch per run until none is left (domain/accounts/jobs.py).
    JobKind("accounts.purge", DEFAULT, lease_seconds=600),
    # Notifications (domain/notifications/jobs.py).
    JobKind("notifications.admin_sign_up", DEFAULT),
    JobKind("notifications.admin_report", DEFAULT),
    JobKind("notifications.polls_expired", SCHEDULER, max_attempts=3),
    JobKind("push.deliver", PUSH, max_attempts=8, backoff=exponential_backoff(base=15.0, cap=6 * 3600.0)),
    # Media (domain/media/jobs.py). Transcoding a long video takes minutes: a long lease, few
    # attempts. Remote media is a download first, so it waits with the other fetches.
    JobKind("media.process", MEDIA, max_attempts=3, lease_seconds=3600),
    JobKind("media.fetch_remote", PULL, max_attempts=5, lease_seconds=3600),
    JobKind("media.remove_files", DEFAULT, max_attempts=5),
    JobKind("media.remove_unattached", SCHEDULER, max_attempts=3),
    JobKind("media.remove_remote_cache", SCHEDULER, max_attempts=3),
    # Copies of remote accounts' avatars and headers (domain/accounts/jobs.py): downloads too.
    JobKind("accounts.copy_remote_image", PULL, max_attempts=5),
    # A profile field's link verified by reading its page (domain/accounts/links.py); like
    # Mastodon's, a page that could not be read is asked once more, not again and again.
    JobKind("accounts.verify_link", PULL, max_attempts=2, lease_seconds=120),
    # Copies of remote custom emojis' pictures (domain/emojis/jobs.py).
    JobKind("emojis.copy_image", PULL, max_attempts=5),
    # A link's preview card: one page (and its image) fetched for every post that carries the
    # link (domain/cards/jobs.py); a site that is down is asked again a few times, not more.
    JobKind("preview_cards.fetch", PULL, max_attempts=3, lease_seconds=300),
    # Trends and the queue itself (domain/trends/jobs.py, jobs/maintenance.py).
    JobKind("trends.refresh", SCHEDULER, max_attempts=3, lease_seconds=600),
    JobKind("jobs.prune", SCHEDULER, max_attempts=3, lease_seconds=600),
    # Federation. Their handlers are not written yet (jobs/handlers.PENDING_KINDS): a worker
    # buries such a job with an error naming the missing handler.
    # One signed POST of one activity to one inbox; 16 attempts over about two days.
    JobKind("federation.deliver", DELIVERY, max_attempts=16, backoff=delivery_backoff),
    # Render an activity once and plan one `federation.deliver` per inbox.
    JobKind("federation.distribute", DELIVERY, max_attempts=5, lease_seconds=600),
    # Process one activity received in an inbox (its signature already checked).
    JobKind("federation.ingress", INGRESS, max_attempts=5),
    # Fetch one remote object (an actor, a status, a collection page) by its id.
    JobKind("federation.fetch", PULL, max_attempts=5),
    # A remote actor's pinned posts and featured tags read again (federation/featured.py),
    # at most once a day per account (dedup key).
    JobKind("federation.fetch_featured", PULL, max_attempts=3),
    # A remote thread's missing posts (its `context` collection, or its `replies` walked), at
    # most a minute's work per run; and a newly seen remote account's recent public posts.
    # Both are best effort: a failed run is not worth more than one retry.
    JobKind("federation.backfill_thread", PULL, max_attempts=2, lease_seconds=180),
    JobKind("federation.backfill_profile", PULL, max_attempts=2, lease_seconds=180),
)


class UnknownJobKind(LookupError):
    """A job kind no declaration names: a programming error (a typo, a kind never declared)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown job kind {name!r}: every kind is declared in kinfolk.jobs.kinds.KINDS "
            "(or, for tests and plugins, with kinfolk.jobs.kinds.declare)"
        )
        self.name = name


def _index(kinds: tuple[JobKind, ...]) -> dict[str, JobKind]:
    table: dict[str, JobKind] = {}
    for kind in kinds:
        if kind.name in table:
            raise ValueError(f"job kind {kind.name!r} is declared twice")
        if kind.queue not in QUEUES:
            raise ValueError(f"job kind {kind.name!r} is on {kind.queue!r}, which is not in QUEUES")
        if kind.max_attempts < 1 or kind.lease_seconds <= 0:
            raise ValueError(f"job kind {kind.name!r}: max_attempts and lease_seconds must be positive")
        table[kind.name] = kind
    return table


BUILTIN = MappingProxyType(_index(KINDS))
"""The server's own kinds by name; what the README and the handler modules are checked against."""

# The built-in kinds plus those declared at run time by tests and plugins.
_TABLE: dict[str, JobKind] = dict(BUILTIN)


def declare(kind: JobKind) -> JobKind:
    """Add a kind outside the table (tests, plugins); it is known only where this has run.

    Declaring the same kind again (a module imported twice) is harmless; declaring a name
    already taken with another queue or policy is an error, as is reusing a built-in name.
    """
    existing = _TABLE.get(kind.name)
    if existing is not None:
        if existing != kind or kind.name in BUILTIN:
            raise ValueError(f"job kind {kind.name!r} is already declared as {existing!r}")
        return existing
    if kind.max_attempts < 1 or kind.lease_seconds <= 0:
        raise ValueError(f"job kind {kind.name!r}: max_attempts and lease_seconds must be positive")
    _TABLE[kind.name] = kind
    return kind


def lookup(name: str) -> JobKind:
    """The declared kind `name`; UnknownJobKind if none is."""
    kind = _TABLE.get(name)
    if kind is None:
        raise UnknownJobKind(name)
    return kind


def find(name: str) -> JobKind | None:
    """The declared kind `name`, or None: for rows already in the table, which may be anything."""
    return _TABLE.get(name)


def all_kinds() -> dict[str, JobKind]:
    return dict(_TABLE)


def known_queues() -> frozenset[str]:
    """Every queue a declared kind may use: what a monitor reports, at 0 when empty."""
    return frozenset({*QUEUES, *(kind.queue for kind in _TABLE.values())})
