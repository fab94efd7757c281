"""Home feed side effects of relationships: feeds.merge, feeds.unmerge, mute expiry, domain blocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.remote import make_remote_account

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.relationships import jobs as relationship_jobs
from kinfolk.domain.relationships import service
from kinfolk.domain.relationships.models import Block, Follow, Mute
from kinfolk.domain.relationships.service import FollowOptions
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.jobs.models import DEAD, Job
from kinfolk.jobs.scheduler import all_periodic
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable


async def make_accounts(container: Container, *names: str, locked: bool = False) -> list[int]:
    async with container.db.uow() as uow:
        rows = [Account(username=n, acct_key=f"{n}@", locked=locked) for n in names]
        uow.session.add_all(rows)
        await uow.session.flush()
        uow.session.add_all([AccountStats(account_id=r.id) for r in rows])
        return [r.id for r in rows]


async def post(container: Container, account_id: int, **kw: Any) -> int:
    async with container.db.uow() as uow:
        status = Status(account_id=account_id, text="hello", content="<p>hello</p>", **kw)
        uow.session.add(status)
        await uow.session.flush()
        return status.id


async def feed(container: Container, account_id: int) -> list[int]:
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(
            select(HomeFeedEntry.status_id)
            .where(HomeFeedEntry.account_id == account_id)
            .order_by(HomeFeedEntry.status_id.desc())
        )
        return list(rows.scalars())


async def act(
    container: Container, action: Any, viewer_id: int, target_id: int, *args: Any, **kw: Any
) -> Any:
    async with container.db.uow() as uow:
        viewer = await uow.session.get(Account, viewer_id)
        assert viewer is not None
        return await action(uow, viewer, target_id, *args, **kw)


async def follow(container: Container, viewer_id: int, target_id: int, **options: Any) -> Any:
    return await act(container, service.follow, viewer_id, target_id, FollowOptions(**options))


async def test_merge_brings_the_followed_accounts_statuses(container, drain_jobs) -> None:
    alice, bob, carol, dave = await make_accounts(container, "alice", "bob", "carol", "dave")
    public = await post(container, bob, visibility="public")
    unlisted = await post(container, bob, visibility="unlisted")
    private = await post(container, bob, visibility="private")
    await post(container, bob, visibility="direct")
    await post(container, bob, visibility="public", deleted_at=utcnow())
    own_thread = await post(container, bob, in_reply_to_id=public, in_reply_to_account_id=bob)
    # A reply to someone Alice does not follow stays out; a reply to Alice comes in.
    await post(container, bob, in_reply_to_account_id=carol)
    to_alice = await post(container, bob, in_reply_to_account_id=alice)
    carols = await post(container, carol, visibility="public")
    boost = await post(container, bob, reblog_of_id=carols)
    daves = await post(container, dave, visibility="public")
    await post(container, bob, reblog_of_id=daves)  # Dave is muted by Alice below
    carols_private = await post(container, carol, visibility="private")
    await post(container, bob, reblog_of_id=carols_private)  # Alice may not see the original
    unrelated = await post(container, carol)

    async with container.db.uow() as uow:
        uow.session.add(Mute(account_id=alice, target_account_id=dave))
    await follow(container, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == sorted(
        [public, unlisted, private, own_thread, to_alice, boost], reverse=True
    )
    assert unrelated not in await feed(container, alice)
    async with container.db.uow(write=False) as uow:
        entry = await uow.session.get(HomeFeedEntry, (alice, boost))
        assert entry is not None and entry.origin_account_id == bob and entry.reblog_of_id == carols

    # Merging again adds nothing twice.
    await merge(container, alice, bob)
    assert len(await feed(container, alice)) == 6


async def merge(container: Container, follower: int, target: int) -> int:
    async with container.db.uow() as uow:
        return await service.merge_into_home(uow.session, follower, target)


async def test_merge_respects_follow_options_and_feed_contents(container, drain_jobs) -> None:
    alice, bob, carol = await make_accounts(container, "alice", "bob", "carol")
    english = await post(container, bob, language="en")
    await post(container, bob, language="de")
    unknown = await post(container, bob, language=None)
    carols = await post(container, carol)
    await post(container, bob, reblog_of_id=carols)

    await follow(container, alice, bob, reblogs=False, languages=["en"])
    await drain_jobs()
    assert await feed(container, alice) == sorted([english, unknown], reverse=True)

    # A boost of something already in the feed is not added again.
    async with container.db.uow() as uow:
        uow.session.add(HomeFeedEntry(account_id=alice, status_id=carols, origin_account_id=carol))
        await uow.session.execute(
            Follow.__table__.update()
            .values(show_reblogs=True, languages=None)
            .where(Follow.account_id == alice)
        )
    await merge(container, alice, bob)
    assert len(await feed(container, alice)) == 4  # english, german, unknown, carol's own


async def test_merge_takes_the_newest_statuses_up_to_the_limit(container, drain_jobs, monkeypatch) -> None:
    monkeypatch.setattr(service, "FEED_MERGE_LIMIT", 3)
    alice, bob = await make_accounts(container, "alice", "bob")
    posted = [await post(container, bob) for _ in range(5)]
    await follow(container, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == posted[-1:-4:-1]


async def test_merge_after_unfollow_does_nothing(container) -> None:
    alice, bob = await make_accounts(container, "alice", "bob")
    await post(container, bob)
    assert await merge(container, alice, bob) == 0
    assert await feed(container, alice) == []


async def test_unfollow_unmerges_only_that_account(container, drain_jobs) -> None:
    alice, bob, carol = await make_accounts(container, "alice", "bob", "carol")
    bobs = await post(container, bob)
    carols = await post(container, carol)
    await follow(container, alice, bob)
    await follow(container, alice, carol)
    await drain_jobs()
    assert await feed(container, alice) == [carols, bobs]

    await act(container, service.unfollow, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == [carols]


async def test_unmerge_is_skipped_when_followed_again(container, drain_jobs) -> None:
    """Jobs can run out of order: a stale unmerge must not empty a re-followed account's posts."""
    alice, bob = await make_accounts(container, "alice", "bob")
    bobs = await post(container, bob)
    await follow(container, alice, bob)
    await act(container, service.unfollow, alice, bob)
    await follow(container, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == [bobs]
    async with container.db.uow() as uow:
        assert await service.unmerge_from_home(uow.session, alice, bob) == 0
        assert await service.unmerge_from_home(uow.session, alice, bob, purge=True) == 0
    assert await feed(container, alice) == [bobs]


async def test_block_purges_both_feeds_including_others_boosts(container, drain_jobs) -> None:
    alice, bob, carol = await make_accounts(container, "alice", "bob", "carol")
    bobs = await post(container, bob)
    alices = await post(container, alice)
    await follow(container, alice, bob)
    await follow(container, bob, alice)
    await follow(container, alice, carol)
    await drain_jobs()
    carols_boost = await post(container, carol, reblog_of_id=bobs)
    async with container.db.uow() as uow:
        uow.session.add(
            HomeFeedEntry(
                account_id=alice, status_id=carols_boost, origin_account_id=carol, reblog_of_id=bobs
            )
        )
    assert set(await feed(container, alice)) == {bobs, carols_boost}
    assert await feed(container, bob) == [alices]

    await act(container, service.block, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == []
    assert await feed(container, bob) == []
    async with container.db.uow(write=False) as uow:
        stats = {s.account_id: s for s in (await uow.session.execute(select(AccountStats))).scalars()}
    assert (stats[alice].followers_count, stats[alice].following_count) == (0, 1)
    assert (stats[bob].followers_count, stats[bob].following_count) == (0, 0)
    assert (stats[carol].followers_count, stats[carol].following_count) == (1, 0)


async def test_mute_purges_and_unmute_merges_again(container, drain_jobs) -> None:
    alice, bob = await make_accounts(container, "alice", "bob")
    bobs = await post(container, bob)
    await follow(container, alice, bob)
    await drain_jobs()
    await act(container, service.mute, alice, bob, notifications=True, duration=0)
    await drain_jobs()
    assert await feed(container, alice) == []
    # Nothing comes in while muted, even if a merge runs.
    assert await merge(container, alice, bob) == 0
    await act(container, service.unmute, alice, bob)
    await drain_jobs()
    assert await feed(container, alice) == [bobs]


async def test_expired_mutes_are_removed_by_the_periodic_job(container, drain_jobs) -> None:
    assert "relationships.expire_mutes" in all_periodic()
    alice, bob, carol = await make_accounts(container, "alice", "bob", "carol")
    bobs = await post(container, bob)
    await follow(container, alice, bob)
    await act(container, service.mute, alice, bob, duration=60)
    await act(container, service.mute, alice, carol, duration=3600)
    await drain_jobs()
    assert await feed(container, alice) == []
    async with container.db.uow() as uow:
        await uow.session.execute(
            Mute.__table__.update()
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .where(Mute.target_account_id == bob)
        )
    async with container.db.uow() as uow:
        await uow.enqueue("relationships.expire_mutes", {})
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        left = (await uow.session.execute(select(Mute.target_account_id))).scalars().all()
    assert left == [carol]
    # Alice still follows Bob, so his posts are back.
    assert await feed(container, alice) == [bobs]


async def test_follow_of_locked_or_remote_accounts_is_a_request(container) -> None:
    alice = (await make_accounts(container, "alice"))[0]
    (locked,) = await make_accounts(container, "locked", locked=True)
    remote_id = (await make_remote_account(container, "far", "remote.example")).id
    for target in (locked, remote_id):
        rel = await follow(container, alice, target)
        assert rel.requested is True and rel.following is False


async def test_follow_limit(container) -> None:
    alice, bob = await make_accounts(container, "alice", "bob")
    async with container.db.uow() as uow:
        stats = await uow.session.get(AccountStats, alice)
        assert stats is not None
        stats.following_count = service.FOLLOW_LIMIT
    with pytest.raises(Unprocessable):
        await follow(container, alice, bob)
    async with container.db.uow() as uow:
        stats = await uow.session.get(AccountStats, alice)
        assert stats is not None
        stats.followers_count = service.FOLLOW_LIMIT
    assert (await follow(container, alice, bob)).following is True


async def test_jobs_with_bad_payloads_die_at_once(container) -> None:
    from kinfolk.jobs.worker import Worker

    async with container.db.uow() as uow:
        await uow.enqueue("feeds.merge", {"account_id": "x"})
        await uow.enqueue("relationships.domain_blocked", {"account_id": 1})
    worker = Worker(container, concurrency=4, listen=False)
    await worker.run_once()
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(Job.kind, Job.state, Job.attempts))).all()
    assert {(kind, state) for kind, state, _ in rows} == {
        ("feeds.merge", DEAD),
        ("relationships.domain_blocked", DEAD),
    }
    assert relationship_jobs.EXPIRE_MUTES_EVERY > 0


async def test_concurrent_follows_count_once(container) -> None:
    """Two requests following at once: one follow row, one increment."""
    import asyncio

    alice, bob = await make_accounts(container, "alice", "bob")
    results = await asyncio.gather(*(follow(container, alice, bob) for _ in range(4)))
    assert all(r.following for r in results)
    async with container.db.uow(write=False) as uow:
        follows = (await uow.session.execute(select(Follow))).scalars().all()
        stats = await uow.session.get(AccountStats, bob)
    assert len(follows) == 1
    assert stats is not None and stats.followers_count == 1


async def test_block_rows_are_single(container) -> None:
    alice, bob = await make_accounts(container, "alice", "bob")
    for _ in range(2):
        rel = await act(container, service.block, alice, bob)
        assert rel.blocking is True
    async with container.db.uow(write=False) as uow:
        assert len((await uow.session.execute(select(Block))).all()) == 1
