"""Deleting a whole local account (`domain/accounts/deletion.py`): invisible and signed out at
once, then everything of it purged in bounded batches with other accounts' counters, feeds and
notifications right; the row stays as a reserved name. Driven through the client API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, or_, select
from tests.conftest import LocalUser

from kinfolk.container import Container
from kinfolk.domain.accounts import deletion
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.accounts.service import NewAccount, validate_new_account
from kinfolk.domain.filters.models import Filter
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.oauth.models import AccessToken
from kinfolk.domain.relationships.models import Block, Follow, FollowRequest, Mute
from kinfolk.domain.statuses.models import Bookmark, Favourite, Status, StatusStats
from kinfolk.domain.timelines.models import HomeFeedEntry, List, ListAccount
from kinfolk.jobs.models import QUEUED, Job


async def _post(client: httpx.AsyncClient, user: LocalUser, **body: Any) -> str:
    response = await client.post("/api/v1/statuses", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _ok(response: Any) -> Any:
    result = await response
    assert result.status_code == 200, result.text
    return result.json()


async def _delete(container: Container, account_id: int) -> bool:
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, account_id)
        assert account is not None
        return await deletion.delete_local_account(uow, account)


async def _count(container: Container, model: Any, *conditions: Any) -> int:
    async with container.db.uow(write=False) as uow:
        return int(
            (
                await uow.session.execute(select(func.count()).select_from(model).where(*conditions))
            ).scalar_one()
        )


async def _stats(container: Container, account_id: int) -> tuple[int, int, int]:
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, account_id)
        assert stats is not None
        return stats.statuses_count, stats.followers_count, stats.following_count


async def _status_stats(container: Container, status_id: str) -> tuple[int, int, int]:
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(StatusStats, int(status_id))
        assert stats is not None
        return stats.replies_count, stats.reblogs_count, stats.favourites_count


async def test_everything_of_a_deleted_account_goes(
    client: httpx.AsyncClient, container: Container, make_user: Any, drain_jobs: Any
) -> None:
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    a, h = alice.account_id, alice.headers
    # bob follows alice; alice follows carol; erin asks to follow alice (locked by then).
    await _ok(client.post(f"/api/v1/accounts/{a}/follow", headers=bob.headers))
    await _ok(client.post(f"/api/v1/accounts/{carol.account_id}/follow", headers=h))
    own = [await _post(client, alice, status=f"alice {i}") for i in range(3)]
    theirs = await _post(client, carol, status="carol's post")
    # alice favourites, boosts, bookmarks and replies to carol's post; bob favourites alice's.
    await _ok(client.post(f"/api/v1/statuses/{theirs}/favourite", headers=h))
    await _ok(client.post(f"/api/v1/statuses/{theirs}/reblog", headers=h))
    await _ok(client.post(f"/api/v1/statuses/{theirs}/bookmark", headers=h))
    reply = await _post(client, alice, status="@carol nice", in_reply_to_id=theirs)
    await _ok(client.post(f"/api/v1/statuses/{own[0]}/favourite", headers=bob.headers))
    # Mutes, blocks, lists and a filter on both sides.
    dana = await make_user("dana")
    await _ok(client.post(f"/api/v1/accounts/{dana.account_id}/block", headers=h))
    await _ok(client.post(f"/api/v1/accounts/{a}/mute", headers=dana.headers))
    mine = await _ok(client.post("/api/v1/lists", json={"title": "mine"}, headers=h))
    await _ok(
        client.post(
            f"/api/v1/lists/{mine['id']}/accounts", json={"account_ids": [str(carol.account_id)]}, headers=h
        )
    )
    bobs = await _ok(client.post("/api/v1/lists", json={"title": "bob's"}, headers=bob.headers))
    await _ok(
        client.post(
            f"/api/v1/lists/{bobs['id']}/accounts", json={"account_ids": [str(a)]}, headers=bob.headers
        )
    )
    await _ok(
        client.post(
            "/api/v2/filters",
            json={"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "x"}]},
            headers=h,
        )
    )
    await _ok(client.patch("/api/v1/accounts/update_credentials", data={"locked": "true"}, headers=h))
    erin = await make_user("erin")
    await _ok(client.post(f"/api/v1/accounts/{a}/follow", headers=erin.headers))  # a pending request
    await drain_jobs()

    home = await _ok(client.get("/api/v1/timelines/home", headers=bob.headers))
    assert set(own) <= {s["id"] for s in home}
    assert await _stats(container, carol.account_id) == (1, 1, 0)
    assert await _stats(container, bob.account_id) == (0, 0, 1)
    assert await _status_stats(container, theirs) == (1, 1, 1)
    assert await _count(container, Notification, Notification.account_id == carol.account_id) >= 3
    assert await _count(container, Notification, Notification.account_id == a) >= 2

    assert await _delete(container, a)
    # At once: the account, its statuses and its token are gone from the API.
    assert (await client.get(f"/api/v1/accounts/{a}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{own[1]}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=h)).status_code == 401
    finger = await client.get("/.well-known/webfinger", params={"resource": "acct:alice@kinfolk.test"})
    assert finger.status_code == 404
    actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 410 and actor.json()["type"] == "Tombstone"
    assert actor.json()["id"] == "https://kinfolk.test/users/alice"
    assert (await client.get("/@alice", headers={"Accept": "text/html"})).status_code == 410
    assert (
        await client.get("/users/nobody", headers={"Accept": "application/activity+json"})
    ).status_code == 404
    assert not await _delete(container, a)  # deleting twice does nothing more

    await drain_jobs()
    # Counters of the others are right again; feeds and notifications are clean.
    assert await _stats(container, carol.account_id) == (1, 0, 0)
    assert await _stats(container, bob.account_id) == (0, 0, 0)
    assert await _status_stats(container, theirs) == (0, 0, 0)
    home = await _ok(client.get("/api/v1/timelines/home", headers=bob.headers))
    assert not set(own) & {s["id"] for s in home}
    assert await _count(container, HomeFeedEntry, HomeFeedEntry.account_id == a) == 0
    assert await _count(container, HomeFeedEntry, HomeFeedEntry.origin_account_id == a) == 0
    notes = await _ok(client.get("/api/v1/notifications", headers=carol.headers))
    assert all(n["account"]["id"] != str(a) for n in notes)
    assert (
        await _count(
            container, Notification, or_(Notification.account_id == a, Notification.from_account_id == a)
        )
        == 0
    )
    # Nothing of alice is left.
    assert await _count(container, Status, Status.account_id == a, Status.deleted_at.is_(None)) == 0
    assert (await client.get(f"/api/v1/statuses/{reply}", headers=carol.headers)).status_code == 404
    for model in (Follow, FollowRequest, Block, Mute):
        assert await _count(container, model, or_(model.account_id == a, model.target_account_id == a)) == 0
    for model in (Favourite, Bookmark, List, Filter, ListAccount):
        assert await _count(container, model, model.account_id == a) == 0
    assert await _count(container, AccessToken, AccessToken.user_id == alice.user_id) == 0
    assert await _count(container, User, User.account_id == a) == 0
    assert await _count(container, Job, Job.kind == deletion.PURGE, Job.state == QUEUED) == 0
    # The row stays, emptied, and its name is reserved; its e-mail address is free again.
    async with container.db.uow(write=False) as uow:
        row = await uow.session.get(Account, a)
        assert row is not None and row.deleted_at is not None and row.suspended_at is not None
        assert row.private_key_pem  # still signs its own Delete while that is delivered
        errors = await validate_new_account(
            uow.session, NewAccount(username="Alice", email=alice.email, password="long enough pw")
        )
    assert [e["error"] for e in errors["username"]] == ["ERR_TAKEN"]
    assert "email" not in errors
    assert await _stats(container, a) == (0, 0, 0)


async def test_a_large_account_goes_in_bounded_batches(
    client: httpx.AsyncClient, container: Container, make_user: Any, drain_jobs: Any
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await _ok(client.post(f"/api/v1/accounts/{alice.account_id}/follow", headers=bob.headers))
    async with container.db.uow() as uow:
        for i in range(25):
            uow.session.add(
                Status(account_id=alice.account_id, text=f"{i}", content=f"<p>{i}</p>", local=True)
            )
    async with container.db.uow() as uow:
        account = await uow.session.get(Account, alice.account_id)
        assert account is not None
        await deletion.mark_deleted(uow, account)

    live = Status.account_id == alice.account_id, Status.deleted_at.is_(None)
    rounds = 0
    while True:
        async with container.db.uow() as uow:
            more = await deletion.purge(uow, alice.account_id, limit=10)
        rounds += 1
        if rounds == 1:
            assert await _count(container, Status, *live) == 15  # one batch, no more
        if not more:
            break
        assert rounds < 10
    assert rounds == 3  # 10 + 10 statuses, then 5, the follow and the rest
    assert await _count(container, Status, *live) == 0
    assert await _stats(container, bob.account_id) == (0, 0, 0)


async def test_the_purge_job_enqueues_itself_until_done(
    container: Container, make_user: Any, drain_jobs: Any, monkeypatch: Any
) -> None:
    alice = await make_user("alice")
    async with container.db.uow() as uow:
        for i in range(7):
            uow.session.add(
                Status(account_id=alice.account_id, text=f"{i}", content=f"<p>{i}</p>", local=True)
            )
    monkeypatch.setattr(deletion, "BATCH", 3)
    assert await _delete(container, alice.account_id)
    await drain_jobs()
    async with container.db.uow(write=False) as uow:
        runs = (
            await uow.session.execute(select(func.count()).where(Job.kind == deletion.PURGE))
        ).scalar_one()
    assert runs == 3  # 3 + 3 + 1 statuses, then the rest in the third run
    assert (
        await _count(container, Status, Status.account_id == alice.account_id, Status.deleted_at.is_(None))
        == 0
    )
