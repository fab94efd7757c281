"""Instance rules and figures through the domain service, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import func, select, update
from tests.remote import make_remote_account, make_remote_status

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.instance import service
from kinfolk.domain.instance.models import Rule
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable


async def test_rules_are_appended_listed_in_order_and_soft_deleted(container: Container) -> None:
    async with container.db.uow() as uow:
        a = await service.add_rule(uow.session, "  First  ", hint=" why ")
        b = await service.add_rule(uow.session, "Second")
        c = await service.add_rule(uow.session, "Zeroth", position=-1)
    assert (a.text, a.hint, a.position) == ("First", "why", 0)
    assert b.position == 1

    async with container.db.uow() as uow:
        await service.remove_rule(uow.session, a.id)
    async with container.db.uow(write=False) as uow:
        listed = await service.list_rules(uow.session)
        kept = await uow.session.scalar(select(func.count()).select_from(Rule))
    assert [r.id for r in listed] == [c.id, b.id]
    assert kept == 3  # the removed rule stays for reports that cite it

    async with container.db.uow() as uow:
        d = await service.add_rule(uow.session, "Third")
    assert d.position == 2


async def test_removing_an_unknown_or_removed_rule_is_404(container: Container) -> None:
    async with container.db.uow() as uow:
        rule = await service.add_rule(uow.session, "Once")
    async with container.db.uow() as uow:
        await service.remove_rule(uow.session, rule.id)
    for rule_id in (rule.id, 12345):
        with pytest.raises(NotFound):
            async with container.db.uow() as uow:
                await service.remove_rule(uow.session, rule_id)


@pytest.mark.parametrize(
    ("text", "hint", "field"),
    [("", "", "text"), ("   ", "", "text"), ("x" * 1001, "", "text"), ("ok", "h" * 2001, "hint")],
)
async def test_invalid_rules_are_refused_and_nothing_is_stored(
    container: Container, text: str, hint: str, field: str
) -> None:
    with pytest.raises(Unprocessable) as caught:
        async with container.db.uow() as uow:
            await service.add_rule(uow.session, text, hint=hint)
    assert caught.value.details is not None and field in caught.value.details
    async with container.db.uow(write=False) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Rule)) == 0


async def test_usage_counts_only_people_who_can_use_the_server(container: Container, make_user: Any) -> None:
    long_ago = utcnow() - timedelta(days=400)
    await make_user("active")
    half = await make_user("half")
    await make_user("pending", approved=False)
    suspended = await make_user("suspended")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(User)
            .where(User.id == half.user_id)
            .values(created_at=long_ago, last_sign_in_at=utcnow() - timedelta(days=100))
        )
        await uow.session.execute(
            update(Account).where(Account.id == suspended.account_id).values(suspended_at=utcnow())
        )
    await make_remote_account(container, "r", "remote.example")
    async with container.db.uow(write=False) as uow:
        usage = await service.usage(uow.session)
        peers = await service.peers(uow.session)
    assert (usage.user_count, usage.active_month, usage.active_halfyear) == (2, 1, 2)
    assert usage.domain_count == 1
    assert usage.status_count == 0
    assert peers == ["remote.example"]


async def test_contact_prefers_the_configured_username(container: Container, make_user: Any) -> None:
    async with container.db.uow(write=False) as uow:
        assert await service.contact_account(uow.session, container.settings) is None
    await make_user("first", role="owner")
    await make_user("second", role="owner")
    await make_user("desk")
    async with container.db.uow(write=False) as uow:
        found = await service.contact_account(uow.session, container.settings)
        assert found is not None and found.username == "first"
        container.settings.contact_username = "@Desk"
        found = await service.contact_account(uow.session, container.settings)
        assert found is not None and found.username == "desk"
        container.settings.contact_username = "nobody"
        found = await service.contact_account(uow.session, container.settings)
        assert found is not None and found.username == "first"


def test_week_starts_are_mondays_oldest_first() -> None:
    now = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # a Friday
    starts = service.week_starts(now)
    assert len(starts) == 12
    assert starts[-1] == datetime(2026, 11, 23, tzinfo=UTC)
    assert starts[0] == datetime(2026, 9, 7, tzinfo=UTC)
    assert all(later - earlier == timedelta(weeks=1) for earlier, later in pairwise(starts))
    assert service.week_starts(datetime(2026, 11, 23, tzinfo=UTC))[-1] == datetime(2026, 11, 23, tzinfo=UTC)


async def test_weekly_activity_newest_first(container: Container, make_user: Any) -> None:
    user = await make_user("alice")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(User)
            .where(User.id == user.user_id)
            .values(created_at=utcnow() - timedelta(weeks=20), last_sign_in_at=utcnow() - timedelta(weeks=1))
        )
    async with container.db.uow(write=False) as uow:
        weeks = await service.weekly_activity(uow.session)
    assert len(weeks) == 12
    assert weeks[0].week > weeks[-1].week
    assert sum(w.registrations for w in weeks) == 0  # signed up before the window
    assert [w.logins for w in weeks[:2]] == [0, 1]


async def test_database_check(container: Container) -> None:
    async with container.db.uow(write=False) as uow:
        await service.check_database(uow.session)


async def test_weekly_activity_counts_local_statuses_written(container: Container, make_user: Any) -> None:
    from kinfolk.domain.statuses.models import Status
    from kinfolk.kernel.ids import id_floor_for_ms

    alice = await make_user("alice")
    now = utcnow()

    def id_at(moment: datetime, n: int) -> int:
        return id_floor_for_ms(int(moment.timestamp() * 1000)) + n

    two_weeks_ago = now - timedelta(weeks=2)
    async with container.db.uow() as uow:
        first = Status(id=id_at(now, 1), account_id=alice.account_id, created_at=now)
        uow.session.add_all(
            [
                first,
                Status(id=id_at(now, 2), account_id=alice.account_id, created_at=now),
                Status(id=id_at(two_weeks_ago, 1), account_id=alice.account_id, created_at=two_weeks_ago),
            ]
        )
        await uow.session.flush()
        uow.session.add(Status(id=id_at(now, 4), account_id=alice.account_id, reblog_of_id=first.id))
    # A remote status of the same week is not counted.
    remote = await make_remote_account(container, "far", "remote.example")
    await make_remote_status(container, remote, "from afar", created_at=now)
    async with container.db.uow(write=False) as uow:
        weeks = await service.weekly_activity(uow.session)
    assert weeks[0].statuses == 2
    assert weeks[2].statuses == 1
    assert sum(w.statuses for w in weeks) == 3


async def test_usage_is_counted_at_most_once_per_ttl_per_store(container: Container, make_user: Any) -> None:
    now = [100.0]
    store: dict[str, Any] = {}
    cache = service.usage_cache(store)
    cache.clock = lambda: now[0]
    assert service.usage_cache(store) is cache
    async with container.db.uow(write=False) as uow:
        assert (await cache.get(uow.session)).user_count == 0
    await make_user("alice")
    now[0] += service.USAGE_TTL - 1
    async with container.db.uow(write=False) as uow:
        assert (await cache.get(uow.session)).user_count == 0  # still the first count
    now[0] += 1
    async with container.db.uow(write=False) as uow:
        assert (await cache.get(uow.session)).user_count == 1
    # Another store (another container, another database) counts for itself.
    async with container.db.uow(write=False) as uow:
        assert (await service.usage_cache({}).get(uow.session)).user_count == 1
