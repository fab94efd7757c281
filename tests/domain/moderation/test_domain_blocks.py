"""Domain blocks: one spelling of a domain, subdomains covered, the most specific block winning,
and the marks a block puts on a server's accounts lifted exactly when the block is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.domain_blocks import (
    ALLOWED,
    BlockRequest,
    PolicyCache,
    block_domain,
    candidates,
    find_block,
    list_blocks,
    normalize_domain,
    obfuscated,
    policies_for,
    policy_for,
    unblock_domain,
)
from kinfolk.domain.moderation.models import DomainBlock
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("EXAMPLE.com.", "example.com"),
        ("example.com:8443", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ex\u0430mple.com", "xn--exmple-4nf.com"),  # a Cyrillic a is another domain, spelt apart
        ("  Sub.Example.COM ", "sub.example.com"),
    ],
)
def test_one_spelling(raw: str, normal: str) -> None:
    assert normalize_domain(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", ".", "https://example.com", "victim.example@attacker.example", "a..b", "a/b", "x" * 300]
)
def test_not_a_domain(raw: str) -> None:
    with pytest.raises(Unprocessable):
        normalize_domain(raw)


def test_candidates_are_the_domain_and_its_parents() -> None:
    assert candidates("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com", "com"]


def test_obfuscation_keeps_the_ends() -> None:
    assert obfuscated("example.com") == "exa****.*om"
    assert obfuscated("ab") == "a*"


async def _remote(container: Container, username: str, domain: str) -> int:
    async with container.db.uow() as uow:
        account = Account(
            username=username,
            domain=domain,
            acct_key=f"{username}@{domain}",
            uri=f"https://{domain}/users/{username}",
        )
        uow.session.add(account)
        await uow.session.flush()
        return account.id


async def _marks(container: Container, account_id: int) -> tuple[bool, bool]:
    async with container.db.uow(write=False) as uow:
        row = (
            await uow.session.execute(
                select(Account.suspended_at, Account.silenced_at).where(Account.id == account_id)
            )
        ).one()
    return row.suspended_at is not None, row.silenced_at is not None


async def test_the_most_specific_block_wins_and_covers_subdomains(container: Container) -> None:
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("Example.com", severity="silence"))
        await block_domain(uow.session, BlockRequest("bad.example.com", severity="suspend"))
    async with container.db.uow(write=False) as uow:
        assert (await policy_for(uow.session, "www.example.com")).silenced
        assert not (await policy_for(uow.session, "www.example.com")).suspended
        worst = await policy_for(uow.session, "x.BAD.example.com.")
        assert worst.suspended and worst.blocked and worst.reject_media and worst.reject_reports
        assert (await policy_for(uow.session, "bad.example.com:8443")).suspended
        assert not (await policy_for(uow.session, "example.org")).silenced
        assert not (await policy_for(uow.session, "notexample.com")).silenced
        assert not (await policy_for(uow.session, None)).blocked
        assert (await find_block(uow.session, "not a domain")) is None
        assert [b.domain for b in await list_blocks(uow.session)] == ["bad.example.com", "example.com"]


async def test_many_policies_at_once_answer_as_one_at_a_time(container: Container) -> None:
    """The delivery planner asks for a thousand servers at once: the same answers, in lookups
    of 900 names, not one per server."""
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("Example.com", severity="silence"))
        await block_domain(uow.session, BlockRequest("bad.example.com", severity="suspend"))
        await block_domain(uow.session, BlockRequest("s700.fan.test", severity="suspend", reject_media=True))
    domains = [
        "www.example.com",
        "x.BAD.example.com.",
        "bad.example.com:8443",
        "example.org",
        "notexample.com",
        "not a domain",
        *(f"s{i}.fan.test" for i in range(1000)),
    ]
    async with container.db.uow(write=False) as uow:
        many = await policies_for(uow.session, domains)
        assert many == {domain: await policy_for(uow.session, domain) for domain in domains}
    assert many["s700.fan.test"].suspended and not many["s701.fan.test"].blocked
    assert many["x.BAD.example.com."].suspended and many["www.example.com"].silenced


async def test_suspend_marks_the_servers_accounts_and_unblock_lifts_only_its_own(
    container: Container,
) -> None:
    victim = await _remote(container, "bob", "evil.example")
    sub = await _remote(container, "eve", "www.evil.example:8443")
    bystander = await _remote(container, "carol", "notevil.example")
    # A moderator's own earlier suspension must survive the block being lifted.
    moderated = await _remote(container, "dave", "evil.example")
    async with container.db.uow() as uow:
        dave = await uow.session.get(Account, moderated)
        assert dave is not None
        dave.suspended_at = utcnow() - timedelta(days=1)

    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("evil.example", severity="suspend"))
    assert await _marks(container, victim) == (True, False)
    assert await _marks(container, sub) == (True, False)
    assert await _marks(container, bystander) == (False, False)

    # Changing the severity undoes the old marks before applying the new ones.
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("evil.example", severity="silence"))
    assert await _marks(container, victim) == (False, True)
    assert await _marks(container, moderated) == (True, True)

    async with container.db.uow() as uow:
        await unblock_domain(uow.session, "EVIL.example.")
    assert await _marks(container, victim) == (False, False)
    assert await _marks(container, sub) == (False, False)
    assert await _marks(container, moderated) == (True, False)
    async with container.db.uow() as uow:
        with pytest.raises(NotFound):
            await unblock_domain(uow.session, "evil.example")


async def test_bad_severity_changes_nothing(container: Container) -> None:
    async with container.db.uow() as uow:
        with pytest.raises(Unprocessable):
            await block_domain(uow.session, BlockRequest("example.com", severity="obliterate"))
    async with container.db.uow(write=False) as uow:
        assert await list_blocks(uow.session) == []


async def test_cached_policy_sees_this_processes_changes_at_once(container: Container) -> None:
    """A block or unblock made in this process is honoured by the next question, however long
    the cache keeps answers; one read while the block was not yet committed is not kept."""
    cache = PolicyCache(ttl=3600.0)
    assert await cache.policy(container.db, "sub.evil.example") == ALLOWED
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("evil.example", severity="suspend"))
        # Asked (on another connection) before the block commits: the old answer.
        assert (await cache.policy(container.db, "sub.evil.example")).suspended is False
    assert (await cache.policy(container.db, "sub.evil.example")).suspended
    assert await cache.policy(container.db, "other.example") == ALLOWED
    async with container.db.uow() as uow:
        await unblock_domain(uow.session, "evil.example")
    assert await cache.policy(container.db, "sub.evil.example") == ALLOWED
    assert await cache.policy(container.db, None) == ALLOWED


async def test_cached_policy_sees_other_processes_changes_within_its_ttl(container: Container) -> None:
    """A block written by another process (the CLI, another web process: here a row written
    without `block_domain`) is honoured once the cached answer is `ttl` seconds old."""
    now = [1000.0]
    cache = PolicyCache(ttl=5.0, clock=lambda: now[0])
    assert await cache.policy(container.db, "evil.example") == ALLOWED
    async with container.db.uow() as uow:
        uow.session.add(DomainBlock(domain="evil.example", severity="suspend", created_at=utcnow()))
    now[0] += 4.0
    assert await cache.policy(container.db, "evil.example") == ALLOWED
    now[0] += 1.5
    assert (await cache.policy(container.db, "evil.example")).suspended
