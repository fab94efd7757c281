"""Fan-out on write, seen from the domain: who gets a status, and which streams hear about it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.relationships.models import Block, Follow, Mute
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags.models import TagFollow
from kinfolk.domain.timelines import distribution, streams
from kinfolk.domain.timelines.fanout import FanOut, fan_out, remove_from_feeds
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount, ListFeedEntry
from kinfolk.kernel.ids import new_id


async def _status(container: Container, author: Any, **values: Any) -> Status:
    async with container.db.uow() as uow:
        status = Status(id=new_id(), account_id=author.account_id, text="", content="<p>x</p>", **values)
        uow.session.add(status)
        await uow.session.flush()
        return status


async def _rows(container: Container, model: Any, *criteria: Any) -> list[Any]:
    async with container.db.uow(write=False) as uow:
        return list((await uow.session.execute(select(model).where(*criteria))).scalars())


async def _fan_out(container: Container, status_id: int) -> FanOut:
    async with container.db.uow() as uow:
        status = await uow.session.get(Status, status_id)
        assert status is not None
        return await fan_out(uow.session, status)


async def test_fan_out_reports_exactly_the_new_rows(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    fans = [await make_user(f"fan{i}") for i in range(3)]
    muter = await make_user("muter")
    async with container.db.uow() as uow:
        for user in [*fans, muter]:
            uow.session.add(Follow(account_id=user.account_id, target_account_id=author.account_id))
        uow.session.add(Mute(account_id=muter.account_id, target_account_id=author.account_id))
    status = await _status(container, author)
    first = await _fan_out(container, status.id)
    assert sorted(first.home) == sorted([author.account_id, *(f.account_id for f in fans)])
    again = await _fan_out(container, status.id)
    assert again.home == [] and again.lists == []


async def test_mentions_of_shunned_accounts_and_exclusive_lists_keep_statuses_out(
    container: Container, make_user
) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    reader = await make_user("reader")
    lister = await make_user("lister")
    villain = await make_user("villain")
    async with container.db.uow() as uow:
        for user in (reader, lister):
            uow.session.add(Follow(account_id=user.account_id, target_account_id=author.account_id))
        uow.session.add(Block(account_id=reader.account_id, target_account_id=villain.account_id))
        exclusive = List(account_id=lister.account_id, title="only here", exclusive=True)
        uow.session.add(exclusive)
        await uow.session.flush()
        uow.session.add(ListAccount(list_id=exclusive.id, account_id=author.account_id))
        list_id = exclusive.id
    status = await _status(container, author)
    async with container.db.uow() as uow:
        uow.session.add(Mention(status_id=status.id, account_id=villain.account_id))
    fanned = await _fan_out(container, status.id)
    assert fanned.home == [author.account_id]
    assert fanned.lists == [list_id]
    removed = await _remove(container, status.id)
    assert removed.home == [author.account_id] and removed.lists == [list_id]
    assert await _rows(container, HomeFeedEntry, HomeFeedEntry.status_id == status.id) == []
    assert await _rows(container, ListFeedEntry, ListFeedEntry.status_id == status.id) == []


async def _remove(container: Container, status_id: int) -> Any:
    async with container.db.uow() as uow:
        return await remove_from_feeds(uow.session, status_id)


async def test_tag_followers_get_public_posts(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    follower = await make_user("tagfan")
    status = await _status(container, author, visibility="public")
    async with container.db.uow() as uow:
        tags = await tags_repo.get_or_create_tags(uow.session, ["Python"])
        await tags_repo.set_status_tags(
            uow.session, status.id, author.account_id, True, tags, status.created_at
        )
        uow.session.add(TagFollow(account_id=follower.account_id, tag_id=tags[0].id))
    fanned = await _fan_out(container, status.id)
    assert sorted(fanned.home) == sorted([author.account_id, follower.account_id])


async def _listen(container: Container, channels: list[str]) -> Any:
    return await container.pubsub.subscribe(channels)


async def _messages(sub: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    await asyncio.sleep(0.01)
    while (item := sub.get_nowait()) is not None:
        out.append((item[0], orjson.loads(item[1])))
    return out


async def test_streams_hear_only_after_commit(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    sub = await _listen(container, [streams.home_channel(author.account_id), streams.PUBLIC])
    with pytest.raises(RuntimeError):
        async with container.db.uow() as uow:
            streams.emit(uow, [streams.PUBLIC], "update", status_id="1")
            raise RuntimeError("rolled back")
    assert await _messages(sub) == []
    async with container.db.uow() as uow:
        streams.emit(uow, [streams.PUBLIC, streams.home_channel(author.account_id)], "update", status_id="2")
        assert await _messages(sub) == []
    assert await _messages(sub) == [
        (streams.PUBLIC, {"event": "update", "status_id": "2"}),
        (streams.home_channel(author.account_id), {"event": "update", "status_id": "2"}),
    ]
    await sub.close()


async def test_distribution_picks_public_hashtag_and_media_channels(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    other = await make_user("other")
    public = await _status(container, author, visibility="public", local=True)
    reply = await _status(container, author, visibility="public", in_reply_to_account_id=other.account_id)
    unlisted = await _status(container, author, visibility="unlisted")
    async with container.db.uow() as uow:
        tags = await tags_repo.get_or_create_tags(uow.session, ["Cats"])
        await tags_repo.set_status_tags(
            uow.session, public.id, author.account_id, True, tags, public.created_at
        )
        await tags_repo.set_status_tags(
            uow.session, reply.id, author.account_id, True, tags, reply.created_at
        )
    watched = [
        streams.PUBLIC,
        streams.public_channel(local=True),
        streams.public_channel(local=True, media=True),
        streams.hashtag_channel("cats"),
        streams.hashtag_channel("cats", local=True),
    ]
    sub = await _listen(container, watched)
    for status in (public, reply, unlisted):
        async with container.db.uow() as uow:
            await distribution.status_created(uow, status, FanOut())
    heard = await _messages(sub)
    by_status: dict[str, set[str]] = {}
    for channel, message in heard:
        by_status.setdefault(message["status_id"], set()).add(channel)
    assert by_status[str(public.id)] == {
        streams.PUBLIC,
        streams.public_channel(local=True),
        streams.hashtag_channel("cats"),
        streams.hashtag_channel("cats", local=True),
    }
    # A reply to someone else stays off the public streams but is on its hashtag's.
    assert by_status[str(reply.id)] == {
        streams.hashtag_channel("cats"),
        streams.hashtag_channel("cats", local=True),
    }
    assert str(unlisted.id) not in by_status
    await sub.close()


async def _feed_holders(container: Container, status_id: int) -> list[int]:
    return sorted(
        e.account_id for e in await _rows(container, HomeFeedEntry, HomeFeedEntry.status_id == status_id)
    )


async def _jobs(container: Container, kind: str) -> list[Any]:
    from kinfolk.jobs.models import Job

    return await _rows(container, Job, Job.kind == kind)


async def _sliced_followers(
    container: Container, make_user: Any, monkeypatch: Any, *, count: int, slice_size: int
) -> tuple[Any, list[Any]]:
    """An author and `count` local followers whose follow ids grow in list order, with
    fan-out slices of `slice_size` follows."""
    from kinfolk.domain.timelines import fanout

    monkeypatch.setattr(fanout, "FOLLOWER_SLICE", slice_size)
    author = await make_user("author")
    fans = [await make_user(f"fan{i}") for i in range(count)]
    async with container.db.uow() as uow:
        for fan in fans:
            uow.session.add(Follow(account_id=fan.account_id, target_account_id=author.account_id))
            await uow.session.flush()
    return author, fans


async def test_followers_past_the_first_slice_get_the_status_from_jobs_of_their_own(
    container: Container, make_user, drain_jobs, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Slices of two: fans[0:2] with the post's own job, fans[2:4] and fans[4:6] as jobs.
    author, fans = await _sliced_followers(container, make_user, monkeypatch, count=6, slice_size=2)
    async with container.db.uow() as uow:
        uow.session.add(Mute(account_id=fans[3].account_id, target_account_id=author.account_id))
    # fans[4] follows only German posts; this one is German.
    async with container.db.uow() as uow:
        follow = (
            await uow.session.execute(select(Follow).where(Follow.account_id == fans[4].account_id))
        ).scalar_one()
        follow.languages = ["de"]
    status = await _status(container, author, visibility="public", language="de")
    sub = await _listen(container, [streams.home_channel(fans[5].account_id)])

    async with container.db.uow() as uow:
        await uow.enqueue("statuses.created", {"status_id": status.id})
    await drain_jobs()

    expected = sorted([author.account_id, *(f.account_id for f in fans if f is not fans[3])])
    assert await _feed_holders(container, status.id) == expected
    slices = await _jobs(container, "statuses.fan_out_slice")
    # Six follows in slices of two: the first in statuses.created, two more as jobs.
    assert len(slices) == 2 and {job.state for job in slices} == {"done"}
    assert await _messages(sub) == [
        (streams.home_channel(fans[5].account_id), {"event": "update", "status_id": str(status.id)})
    ]
    await sub.close()


async def test_a_slice_after_the_status_went_adds_nothing(
    container: Container, make_user, drain_jobs, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    author, fans = await _sliced_followers(container, make_user, monkeypatch, count=3, slice_size=1)
    status = await _status(container, author)
    fanned = await _fan_out(container, status.id)
    assert sorted(fanned.home) == sorted([author.account_id, fans[0].account_id])
    assert len(fanned.later) == 2 and fanned.later[0][0] > 0 and fanned.later[-1][1] == 2**63 - 1
    async with container.db.uow() as uow:
        gone = await uow.session.get(Status, status.id)
        assert gone is not None
        gone.deleted_at = gone.created_at
        for after, upto in fanned.later:
            await uow.enqueue(
                "statuses.fan_out_slice", {"status_id": status.id, "after": after, "upto": upto}
            )
    await drain_jobs()
    assert await _feed_holders(container, status.id) == sorted([author.account_id, fans[0].account_id])


async def test_an_author_with_fewer_followers_than_a_slice_needs_no_further_jobs(
    container: Container, make_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    author, fans = await _sliced_followers(container, make_user, monkeypatch, count=3, slice_size=3)
    status = await _status(container, author)
    fanned = await _fan_out(container, status.id)
    # Exactly one full slice: nothing left for a job.
    assert fanned.later == []
    assert sorted(fanned.home) == sorted([author.account_id, *(f.account_id for f in fans)])


async def test_a_follow_limited_to_some_languages_gets_only_posts_in_them(
    container: Container, make_user
) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    reader = await make_user("reader")
    async with container.db.uow() as uow:
        uow.session.add(
            Follow(account_id=reader.account_id, target_account_id=author.account_id, languages=["de", "fr"])
        )
    german = await _status(container, author, language="de")
    english = await _status(container, author, language="en")
    assert sorted((await _fan_out(container, german.id)).home) == sorted(
        [author.account_id, reader.account_id]
    )
    assert (await _fan_out(container, english.id)).home == [author.account_id]
