"""Which remote domains our deliveries keep failing on, and which we have given up on for now.

Mastodon's rule, so that a server gone for good stops costing a request per activity: a domain
whose deliveries failed on `UNAVAILABLE_DAYS` distinct days (a day counts once, however many
deliveries failed on it), or that has been failing without a success for that long, is marked
unavailable, and deliveries to it are dropped without a request. Any sign of life clears it: a
successful delivery, or a signed request from that domain reaching our inbox (the inbox calls
`mark_domain_alive`).

Only retryable failures count (timeouts, refused connections, 5xx, 429): a 4xx answer is a
server that is up and refusing one activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.prepared import Prepared, run_in
from kinfolk.db.upsert import insert_for
from kinfolk.domain.instance.models import DeliveryHost
from kinfolk.kernel.clock import utcnow

UNAVAILABLE_DAYS = 7


def host_of(domain: str) -> str:
    """The stored spelling: lower case, no trailing dot, no port (one server, whatever port)."""
    host = domain.strip().lower().rstrip(".")
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host


async def get(session: AsyncSession, domain: str) -> DeliveryHost | None:
    return await session.get(DeliveryHost, host_of(domain))


async def is_unavailable(session: AsyncSession, domain: str) -> bool:
    stmt = select(DeliveryHost.unavailable_at).where(DeliveryHost.domain == host_of(domain))
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def unavailable_domains(session: AsyncSession) -> set[str]:
    stmt = select(DeliveryHost.domain).where(DeliveryHost.unavailable_at.is_not(None))
    return set((await session.execute(stmt)).scalars())


async def record_failure(session: AsyncSession, domain: str, *, now: datetime | None = None) -> bool:
    """Count a failed delivery to `domain`; True when this made (or kept) it unavailable."""
    now = now or utcnow()
    host = host_of(domain)
    await session.execute(
        insert_for(session, DeliveryHost)
        .values(domain=host, failure_days=0)
        .on_conflict_do_nothing(index_elements=["domain"])
    )
    row = (
        await session.execute(select(DeliveryHost).where(DeliveryHost.domain == host).with_for_update())
    ).scalar_one()
    if row.failing_since is None:
        row.failing_since = now
        row.failure_days = 1
    elif row.last_failure_at is None or row.last_failure_at.date() != now.date():
        row.failure_days += 1
    row.last_failure_at = now
    if row.unavailable_at is None and (
        row.failure_days >= UNAVAILABLE_DAYS or now - row.failing_since >= timedelta(days=UNAVAILABLE_DAYS)
    ):
        row.unavailable_at = now
    await session.flush()
    return row.unavailable_at is not None


async def record_success(session: AsyncSession, domain: str, *, now: datetime | None = None) -> None:
    """A delivery went through: whatever failures were counted are forgotten."""
    await session.execute(
        update(DeliveryHost)
        .where(DeliveryHost.domain == host_of(domain))
        .values(
            failing_since=None,
            last_failure_at=None,
            failure_days=0,
            unavailable_at=None,
            last_success_at=now or utcnow(),
        )
    )


_FORGET = Prepared(delete(DeliveryHost).where(DeliveryHost.domain == bindparam("domain")))


async def mark_domain_alive(session: AsyncSession, domain: str) -> None:
    """`domain` showed it is up (a signed request from it): deliver to it again.

    Deletes the row, so that calling this on every inbox request costs one indexed delete
    that usually touches nothing; a prepared statement, as the ORM's bulk delete cost more
    than the inbox's other writes together (bench/RESULTS.md, G3). The session holds no
    `DeliveryHost` it would have to forget: callers do not load one in the same unit."""
    await run_in(session, _FORGET, {"domain": host_of(domain)})
