"""The one status store: a remote status goes through the same rows, counters, job, fan-out and
notifications as a local post, once per id, and only as its own author's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests.remote import make_remote_account, make_remote_status

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Conversation, Mention, Status, StatusStats
from kinfolk.domain.statuses.store import NewStatus, store_remote_status, store_status
from kinfolk.domain.tags.models import StatusTag
from kinfolk.domain.timelines.models import HomeFeedEntry
from kinfolk.jobs.models import Job
from kinfolk.kernel.errors import Unprocessable
from kinfolk.kernel.uris import Uris


async def _count(container: Container, model: Any, *where: Any) -> int:
    async with container.db.uow(write=False) as uow:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int((await uow.session.execute(query)).scalar_one())


async def _account(container: Container, account_id: int) -> Account:
    async with container.db.uow(write=False) as uow:
        account = await uow.session.get(Account, account_id)
        assert account is not None
        return account


async def test_a_remote_status_is_stored_fanned_out_and_notifies_like_a_local_one(
    container: Container, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_remote_account(container, "bob", "remote.example")
    async with container.db.uow() as uow:
        uow.session.add(Follow(account_id=alice.account_id, target_account_id=bob.id))
    author = await _account(container, alice.account_id)
    status = await make_remote_status(
        container,
        bob,
        content='<p>hi <a href="https://kinfolk.test/@alice">@alice</a> #Cats</p>',
        mentions=[author],
        tag_names=["Cats"],
    )
    assert status.local is False
    assert status.uri == f"https://remote.example/users/bob/statuses/{status.uri.rsplit('/', 1)[1]}"
    assert status.url is not None and status.url.startswith("https://remote.example/@bob/")
    assert status.content.startswith("<p>hi ")
    assert await _count(container, Mention, Mention.status_id == status.id) == 1
    assert (
        await _count(container, StatusTag, StatusTag.status_id == status.id, StatusTag.local.is_(False)) == 1
    )
    assert await _count(container, Conversation, Conversation.id == status.conversation_id) == 1
    assert await _count(container, Job, Job.kind == "statuses.created") == 1
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, bob.id)
        assert stats is not None and stats.statuses_count == 1 and stats.last_status_at is not None

    await drain_jobs()
    feed = HomeFeedEntry.account_id == alice.account_id, HomeFeedEntry.status_id == status.id
    assert await _count(container, HomeFeedEntry, *feed) == 1
    mention = (
        Notification.account_id == alice.account_id,
        Notification.type == "mention",
        Notification.status_id == status.id,
    )
    assert await _count(container, Notification, *mention) == 1


async def test_a_remote_status_is_stored_once_by_its_id(container: Container) -> None:
    bob = await make_remote_account(container, "bob", "remote.example")
    uris = Uris(container.settings.base_url)
    new = NewStatus(local=False, uri="https://remote.example/users/bob/statuses/1", content="<p>once</p>")
    async with container.db.uow() as uow:
        first = await store_remote_status(uow, uris, bob, new)
    async with container.db.uow() as uow:
        again = await store_remote_status(
            uow, uris, bob, NewStatus(local=False, uri=new.uri, content="<p>twice</p>")
        )
    assert first.fresh and not again.fresh
    assert again.status.id == first.status.id and again.status.content == "<p>once</p>"
    assert await _count(container, Status) == 1
    assert await _count(container, Job, Job.kind == "statuses.created") == 1
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, bob.id)
        assert stats is not None and stats.statuses_count == 1


async def test_an_actor_cannot_store_another_actors_status(container: Container) -> None:
    bob = await make_remote_account(container, "bob", "remote.example")
    eve = await make_remote_account(container, "eve", "evil.example")
    stored = await make_remote_status(container, bob, "mine")
    uris = Uris(container.settings.base_url)
    with pytest.raises(Unprocessable):
        async with container.db.uow() as uow:
            await store_remote_status(
                uow, uris, eve, NewStatus(local=False, uri=stored.uri, content="<p>taken</p>")
            )
    async with container.db.uow(write=False) as uow:
        kept = await uow.session.get(Status, stored.id)
        assert kept is not None and kept.account_id == bob.id and kept.content == "<p>mine</p>"


@pytest.mark.parametrize(
    "new",
    [
        NewStatus(local=True, content="<p>a local status by a remote actor</p>"),
        NewStatus(local=False, content="<p>no id</p>"),
        NewStatus(local=False, uri="https://remote.example/" + "x" * 1100, content="<p>long id</p>"),
        NewStatus(local=False, uri="https://remote.example/s/1", content="<p>x</p>", visibility="everyone"),
    ],
)
async def test_the_store_refuses_what_it_cannot_keep_and_stores_nothing(
    container: Container, new: NewStatus
) -> None:
    bob = await make_remote_account(container, "bob", "remote.example")
    with pytest.raises(Unprocessable):
        async with container.db.uow() as uow:
            await store_status(uow, Uris(container.settings.base_url), bob, new)
    assert await _count(container, Status) == 0
    assert await _count(container, Job, Job.kind == "statuses.created") == 0


async def test_a_remote_reply_to_a_local_post_joins_its_thread_and_counts(
    client: Any, container: Container, make_user: Any, drain_jobs: Any
) -> None:
    alice = await make_user("alice")
    response = await client.post("/api/v1/statuses", data={"status": "question"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    bob = await make_remote_account(container, "bob", "remote.example")
    async with container.db.uow(write=False) as uow:
        parent = await uow.session.get(Status, int(response.json()["id"]))
    assert parent is not None
    reply = await make_remote_status(container, bob, "answer", in_reply_to=parent)
    assert reply.in_reply_to_id == parent.id and reply.in_reply_to_account_id == alice.account_id
    assert reply.conversation_id == parent.conversation_id
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(StatusStats, parent.id)
        assert stats is not None and stats.replies_count == 1
    shown = await client.get(f"/api/v1/statuses/{parent.id}/context", headers=alice.headers)
    assert [s["id"] for s in shown.json()["descendants"]] == [str(reply.id)]
    assert shown.json()["descendants"][0]["account"]["acct"] == "bob@remote.example"
    await drain_jobs()
    notified = Notification.account_id == alice.account_id, Notification.type == "mention"
    # A reply that does not mention alice tells her nothing (as a local reply without a mention).
    assert await _count(container, Notification, *notified) == 0


async def test_a_local_post_gets_its_ids_from_the_uri_scheme(client: Any, make_user: Any) -> None:
    alice = await make_user("alice")
    body = (await client.post("/api/v1/statuses", data={"status": "hi"}, headers=alice.headers)).json()
    uris = Uris("https://kinfolk.test")
    assert body["uri"] == uris.status("alice", int(body["id"]))
    assert body["url"] == uris.status_page("alice", int(body["id"]))
    boost = (await client.post(f"/api/v1/statuses/{body['id']}/reblog", headers=alice.headers)).json()
    assert boost["uri"] == uris.status_activity("alice", int(boost["id"]))
    assert boost["reblog"]["reblogs_count"] == 1
