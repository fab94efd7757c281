"""Follow, unfollow, follow requests, block, mute, notes, endorsements and the Relationship entity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.oauth.service import create_application, issue_token
from kinfolk.domain.relationships.models import AccountPin, Follow, FollowRequest, Mute
from kinfolk.jobs.models import Job
from kinfolk.kernel.clock import utcnow

API = "/api/v1/accounts"


async def _counts(container: Container, account_id: int) -> tuple[int, int]:
    async with container.db.uow(write=False) as uow:
        stats = await uow.session.get(AccountStats, account_id)
        assert stats is not None
        return stats.followers_count, stats.following_count


async def _count(container: Container, model: Any, **where: Any) -> int:
    async with container.db.uow(write=False) as uow:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int((await uow.session.execute(stmt)).scalar_one())


async def _jobs(container: Container, kind: str) -> list[dict[str, Any]]:
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(select(Job.payload).where(Job.kind == kind).order_by(Job.id))
        return [dict(r[0]) for r in rows.all()]


async def _post(client: httpx.AsyncClient, user: Any, path: str, **kwargs: Any) -> httpx.Response:
    return await client.post(path, headers=user.headers, **kwargs)


@contextmanager
def count_queries(container: Container) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


# -- follow and unfollow --------------------------------------------------------------------


async def test_follow_unlocked_updates_counters_and_merges_feed(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await _post(client, alice, f"{API}/{bob.account_id}/follow")
    assert r.status_code == 200, r.text
    rel = r.json()
    assert rel["id"] == str(bob.account_id)
    assert rel["following"] is True and rel["requested"] is False
    assert rel["showing_reblogs"] is True and rel["notifying"] is False and rel["languages"] is None
    assert set(rel) == {
        "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking",
        "blocked_by", "muting", "muting_notifications", "muting_expires_at", "requested", "requested_by",
        "domain_blocking", "endorsed", "note",
    }  # fmt: skip
    assert await _counts(container, alice.account_id) == (0, 1)
    assert await _counts(container, bob.account_id) == (1, 0)
    assert await _jobs(container, "feeds.merge") == [
        {"account_id": alice.account_id, "target_account_id": bob.account_id}
    ]
    assert await _count(container, Notification, account_id=bob.account_id, type="follow") == 1

    # Following again changes the options, not the counters.
    r = await _post(
        client, alice, f"{API}/{bob.account_id}/follow",
        json={"reblogs": False, "notify": True, "languages": ["en", "de"]},
    )  # fmt: skip
    assert r.status_code == 200
    assert r.json()["showing_reblogs"] is False
    assert r.json()["notifying"] is True
    assert r.json()["languages"] == ["en", "de"]
    assert await _counts(container, bob.account_id) == (1, 0)
    assert len(await _jobs(container, "feeds.merge")) == 1

    # Bob sees Alice as a follower.
    r = await client.get(f"{API}/relationships", params={"id[]": alice.account_id}, headers=bob.headers)
    assert r.json()[0]["followed_by"] is True and r.json()[0]["following"] is False

    r = await _post(client, alice, f"{API}/{bob.account_id}/unfollow")
    assert r.status_code == 200
    assert r.json()["following"] is False
    assert await _counts(container, alice.account_id) == (0, 0)
    assert await _counts(container, bob.account_id) == (0, 0)
    assert await _jobs(container, "feeds.unmerge") == [
        {"account_id": alice.account_id, "target_account_id": bob.account_id}
    ]
    # Unfollowing twice is harmless and counts nothing twice.
    r = await _post(client, alice, f"{API}/{bob.account_id}/unfollow")
    assert r.status_code == 200
    assert await _counts(container, bob.account_id) == (0, 0)


async def test_follow_options_as_form_and_invalid_language(client, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await _post(
        client, alice, f"{API}/{bob.account_id}/follow", data={"reblogs": "false", "languages[]": ["fr"]}
    )
    assert r.status_code == 200
    assert r.json()["showing_reblogs"] is False and r.json()["languages"] == ["fr"]
    # An empty list means every language again.
    r = await _post(client, alice, f"{API}/{bob.account_id}/follow", json={"languages": []})
    assert r.json()["languages"] is None and r.json()["showing_reblogs"] is False
    # Unknown codes are dropped, as Mastodon drops an unknown language (issue 11).
    r = await _post(client, alice, f"{API}/{bob.account_id}/follow", json={"languages": ["zz-not", "de"]})
    assert r.status_code == 200 and r.json()["languages"] == ["de"]


async def test_follow_errors(client, container, make_user) -> None:
    alice = await make_user("alice")
    r = await _post(client, alice, f"{API}/{alice.account_id}/follow")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    r = await _post(client, alice, f"{API}/12345/follow")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    r = await _post(client, alice, f"{API}/{2**64}/follow")
    assert r.status_code == 404
    r = await client.post(f"{API}/12345/follow")
    assert r.status_code == 401
    reader = await make_user("reader", scopes="read")
    r = await _post(client, reader, f"{API}/{alice.account_id}/follow")
    assert r.status_code == 403
    # The legacy `follow` scope is enough, as it is on Mastodon.
    legacy = await make_user("legacy", scopes="follow")
    r = await _post(client, legacy, f"{API}/{alice.account_id}/follow")
    assert r.status_code == 200 and r.json()["following"] is True

    async with container.db.uow() as uow:
        app = await create_application(uow.session, name="app-only", scopes="read write follow")
        issued = await issue_token(
            uow.session, application=app, user=None, scopes=["read", "write", "follow"]
        )
    r = await client.post(
        f"{API}/{alice.account_id}/follow", headers={"Authorization": f"Bearer {issued.access_token}"}
    )
    assert r.status_code == 422
    assert r.json() == {"error": "This method requires an authenticated user"}


async def test_locked_account_request_then_authorize(client, container, make_user) -> None:
    alice, carol = await make_user("alice"), await make_user("carol", locked=True)
    r = await _post(client, alice, f"{API}/{carol.account_id}/follow", json={"notify": True})
    assert r.status_code == 200
    assert r.json()["following"] is False and r.json()["requested"] is True
    assert r.json()["notifying"] is True
    assert await _counts(container, carol.account_id) == (0, 0)
    assert await _jobs(container, "feeds.merge") == []
    assert await _count(container, Notification, account_id=carol.account_id, type="follow_request") == 1

    r = await client.get(f"{API}/relationships", params={"id": alice.account_id}, headers=carol.headers)
    assert r.json()[0]["requested_by"] is True

    r = await client.get("/api/v1/follow_requests", headers=carol.headers)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [str(alice.account_id)]

    r = await _post(client, carol, f"/api/v1/follow_requests/{alice.account_id}/authorize")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(alice.account_id)
    assert r.json()["followed_by"] is True and r.json()["requested_by"] is False
    assert await _counts(container, carol.account_id) == (1, 0)
    assert await _counts(container, alice.account_id) == (0, 1)
    assert await _jobs(container, "feeds.merge") == [
        {"account_id": alice.account_id, "target_account_id": carol.account_id}
    ]
    async with container.db.uow(write=False) as uow:
        follow = (await uow.session.execute(select(Follow))).scalar_one()
        assert follow.notify is True
    assert await _count(container, FollowRequest) == 0

    r = await client.get("/api/v1/follow_requests", headers=carol.headers)
    assert r.json() == []
    # Nothing left to authorize or reject.
    r = await _post(client, carol, f"/api/v1/follow_requests/{alice.account_id}/authorize")
    assert r.status_code == 404
    r = await _post(client, carol, f"/api/v1/follow_requests/{alice.account_id}/reject")
    assert r.status_code == 404


async def test_reject_and_withdraw_follow_request(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    carol = await make_user("carol", locked=True)
    await _post(client, alice, f"{API}/{carol.account_id}/follow")
    await _post(client, bob, f"{API}/{carol.account_id}/follow")
    r = await _post(client, carol, f"/api/v1/follow_requests/{alice.account_id}/reject")
    assert r.status_code == 200
    assert r.json()["requested_by"] is False and r.json()["followed_by"] is False
    # Bob withdraws his request by unfollowing.
    r = await _post(client, bob, f"{API}/{carol.account_id}/unfollow")
    assert r.json()["requested"] is False
    assert await _count(container, FollowRequest) == 0
    assert await _count(container, Follow) == 0
    assert await _counts(container, carol.account_id) == (0, 0)
    # A write token of another user cannot act on Carol's requests.
    r = await _post(client, bob, f"/api/v1/follow_requests/{alice.account_id}/authorize")
    assert r.status_code == 404


async def test_remove_from_followers(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await _post(client, alice, f"{API}/{bob.account_id}/follow")
    r = await _post(client, bob, f"{API}/{alice.account_id}/remove_from_followers")
    assert r.status_code == 200
    assert r.json()["followed_by"] is False
    assert await _counts(container, bob.account_id) == (0, 0)
    assert await _counts(container, alice.account_id) == (0, 0)
    assert {"account_id": alice.account_id, "target_account_id": bob.account_id} in await _jobs(
        container, "feeds.unmerge"
    )


# -- blocks ---------------------------------------------------------------------------------


async def test_block_removes_follows_both_ways_and_forbids_following(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await _post(client, alice, f"{API}/{bob.account_id}/follow")
    await _post(client, bob, f"{API}/{alice.account_id}/follow")
    await _post(client, alice, f"{API}/{bob.account_id}/pin")
    assert await _counts(container, alice.account_id) == (1, 1)

    r = await _post(client, alice, f"{API}/{bob.account_id}/block")
    assert r.status_code == 200
    rel = r.json()
    assert rel["blocking"] is True and rel["following"] is False and rel["followed_by"] is False
    assert rel["endorsed"] is False
    assert await _count(container, Follow) == 0
    assert await _count(container, AccountPin) == 0
    assert await _counts(container, alice.account_id) == (0, 0)
    assert await _counts(container, bob.account_id) == (0, 0)
    purges = [j for j in await _jobs(container, "feeds.unmerge") if j.get("purge")]
    assert {(j["account_id"], j["target_account_id"]) for j in purges} == {
        (alice.account_id, bob.account_id),
        (bob.account_id, alice.account_id),
    }

    # Blocked either way: 403 both directions.
    r = await _post(client, bob, f"{API}/{alice.account_id}/follow")
    assert r.status_code == 403 and "error" in r.json()
    r = await _post(client, alice, f"{API}/{bob.account_id}/follow")
    assert r.status_code == 403
    r = await client.get(f"{API}/relationships", params={"id[]": alice.account_id}, headers=bob.headers)
    assert r.json()[0]["blocked_by"] is True and r.json()[0]["blocking"] is False

    r = await client.get("/api/v1/blocks", headers=alice.headers)
    assert [a["id"] for a in r.json()] == [str(bob.account_id)]

    r = await _post(client, alice, f"{API}/{bob.account_id}/unblock")
    assert r.json()["blocking"] is False
    r = await _post(client, bob, f"{API}/{alice.account_id}/follow")
    assert r.status_code == 200 and r.json()["following"] is True


async def test_block_withdraws_pending_requests(client, container, make_user) -> None:
    carol = await make_user("carol", locked=True)
    alice = await make_user("alice", locked=True)
    await _post(client, alice, f"{API}/{carol.account_id}/follow")
    await _post(client, carol, f"{API}/{alice.account_id}/follow")
    assert await _count(container, FollowRequest) == 2
    r = await _post(client, carol, f"{API}/{alice.account_id}/block")
    assert r.json()["requested"] is False and r.json()["requested_by"] is False
    assert await _count(container, FollowRequest) == 0


async def test_self_block_and_mute_change_nothing(client, container, make_user) -> None:
    alice = await make_user("alice")
    for action in ("block", "mute"):
        r = await _post(client, alice, f"{API}/{alice.account_id}/{action}")
        assert r.status_code == 200
        assert r.json()["blocking"] is False and r.json()["muting"] is False
    assert await _count(container, Mute) == 0


# -- mutes ----------------------------------------------------------------------------------


async def test_mute_with_duration_and_notifications(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    before = utcnow()
    r = await _post(
        client, alice, f"{API}/{bob.account_id}/mute", json={"duration": 3600, "notifications": False}
    )
    assert r.status_code == 200
    rel = r.json()
    assert rel["muting"] is True and rel["muting_notifications"] is False
    assert rel["muting_expires_at"] is not None
    async with container.db.uow(write=False) as uow:
        mute = (await uow.session.execute(select(Mute))).scalar_one()
        assert mute.expires_at is not None
        assert before + timedelta(seconds=3590) < mute.expires_at < utcnow() + timedelta(seconds=3610)
        assert mute.hide_notifications is False

    r = await client.get("/api/v1/mutes", headers=alice.headers)
    assert [a["id"] for a in r.json()] == [str(bob.account_id)]
    assert r.json()[0]["mute_expires_at"] == rel["muting_expires_at"]

    # Muting again without parameters: indefinite, notifications muted too (the default).
    r = await _post(client, alice, f"{API}/{bob.account_id}/mute")
    assert r.json()["muting_notifications"] is True and r.json()["muting_expires_at"] is None
    assert await _count(container, Mute) == 1

    for bad in ("soon", -5, True):
        r = await _post(client, alice, f"{API}/{bob.account_id}/mute", json={"duration": bad})
        assert r.status_code == 422, bad
    r = await _post(client, alice, f"{API}/{bob.account_id}/unmute")
    assert r.json()["muting"] is False
    assert await _count(container, Mute) == 0


async def test_expired_mute_no_longer_counts(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await _post(client, alice, f"{API}/{bob.account_id}/mute", json={"duration": 60})
    async with container.db.uow() as uow:
        mute = (await uow.session.execute(select(Mute))).scalar_one()
        mute.expires_at = utcnow() - timedelta(seconds=1)
    r = await client.get(f"{API}/relationships", params={"id[]": bob.account_id}, headers=alice.headers)
    assert r.json()[0]["muting"] is False
    r = await client.get("/api/v1/mutes", headers=alice.headers)
    assert r.json() == []


# -- notes and endorsements -----------------------------------------------------------------


async def test_note_set_and_cleared(client, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await _post(client, alice, f"{API}/{bob.account_id}/note", json={"comment": "met at the conf"})
    assert r.status_code == 200 and r.json()["note"] == "met at the conf"
    r = await client.get(f"{API}/relationships", params={"id[]": bob.account_id}, headers=bob.headers)
    assert r.json()[0]["note"] == ""  # notes are private to their author
    r = await _post(client, alice, f"{API}/{bob.account_id}/note", json={"comment": "x" * 2001})
    assert r.status_code == 422
    r = await _post(client, alice, f"{API}/{bob.account_id}/note", data={"comment": ""})
    assert r.json()["note"] == ""
    r = await _post(client, alice, f"{API}/{bob.account_id}/note")
    assert r.status_code == 200 and r.json()["note"] == ""


async def test_endorse_requires_following(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await _post(client, alice, f"{API}/{bob.account_id}/endorse")
    assert r.status_code == 422 and "following" in r.json()["error"]
    await _post(client, alice, f"{API}/{bob.account_id}/follow")
    r = await _post(client, alice, f"{API}/{bob.account_id}/endorse")
    assert r.status_code == 200 and r.json()["endorsed"] is True
    r = await _post(client, alice, f"{API}/{bob.account_id}/pin")  # the pre-4.4 name, idempotent
    assert r.status_code == 200 and r.json()["endorsed"] is True
    assert await _count(container, AccountPin) == 1

    r = await client.get("/api/v1/endorsements", headers=alice.headers)
    assert [a["id"] for a in r.json()] == [str(bob.account_id)]
    r = await client.get(f"{API}/{alice.account_id}/endorsements")  # public, no token
    assert r.status_code == 200 and [a["id"] for a in r.json()] == [str(bob.account_id)]
    r = await client.get(f"{API}/{alice.account_id}/endorsements", headers=bob.headers)
    assert [a["id"] for a in r.json()] == [str(bob.account_id)]

    r = await _post(client, alice, f"{API}/{bob.account_id}/unpin")
    assert r.json()["endorsed"] is False
    await _post(client, alice, f"{API}/{bob.account_id}/endorse")
    # Unfollowing takes the endorsement with it.
    await _post(client, alice, f"{API}/{bob.account_id}/unfollow")
    assert await _count(container, AccountPin) == 0
    r = await client.get("/api/v1/endorsements", headers=alice.headers)
    assert r.json() == []


# -- relationships, batched -----------------------------------------------------------------


async def test_relationships_batched_in_constant_queries(client, container, make_user) -> None:
    alice = await make_user("alice")
    others = []
    async with container.db.uow() as uow:
        for i in range(10):
            account = Account(username=f"user{i}", acct_key=f"user{i}@", display_name=f"User {i}")
            uow.session.add(account)
            others.append(account)
        await uow.session.flush()
        ids = [a.id for a in others]
        uow.session.add(AccountStats(account_id=ids[0]))
    # A mix of facts, so that every query has rows to return.
    await _post(client, alice, f"{API}/{ids[0]}/follow")
    await _post(client, alice, f"{API}/{ids[1]}/block")
    await _post(client, alice, f"{API}/{ids[2]}/mute")
    await _post(client, alice, f"{API}/{ids[3]}/note", json={"comment": "hi"})

    with count_queries(container) as one:
        r1 = await client.get(f"{API}/relationships", params={"id[]": [ids[0]]}, headers=alice.headers)
    with count_queries(container) as ten:
        r10 = await client.get(f"{API}/relationships", params={"id[]": ids}, headers=alice.headers)
    assert r1.status_code == 200 and r10.status_code == 200
    assert len(r1.json()) == 1 and len(r10.json()) == 10
    assert len(one) == len(ten), (one, ten)

    body = r10.json()
    assert [r["id"] for r in body] == [str(i) for i in ids]  # in the order asked
    assert body[0]["following"] is True
    assert body[1]["blocking"] is True
    assert body[2]["muting"] is True and body[2]["muting_notifications"] is True
    assert body[3]["note"] == "hi"
    assert not any(body[4][k] for k in ("following", "blocking", "muting", "requested", "endorsed"))


async def test_relationships_params(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    r = await client.get(
        f"{API}/relationships",
        params=[
            ("id[]", str(bob.account_id)),
            ("id[]", "nonsense"),
            ("id[]", "999"),
            ("id[]", str(bob.account_id)),
        ],
        headers=alice.headers,
    )
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == [str(bob.account_id)]
    r = await client.get(f"{API}/relationships", headers=alice.headers)
    assert r.json() == []

    async with container.db.uow() as uow:
        account = await uow.session.get(Account, bob.account_id)
        assert account is not None
        account.suspended_at = utcnow()
    r = await client.get(f"{API}/relationships", params={"id[]": bob.account_id}, headers=alice.headers)
    assert r.json() == []
    r = await client.get(
        f"{API}/relationships",
        params={"id[]": bob.account_id, "with_suspended": "true"},
        headers=alice.headers,
    )
    assert [x["id"] for x in r.json()] == [str(bob.account_id)]
    # Suspended accounts cannot be followed.
    r = await _post(client, alice, f"{API}/{bob.account_id}/follow")
    assert r.status_code == 404

    r = await client.get(f"{API}/relationships", params={"id[]": bob.account_id})
    assert r.status_code == 401
    writer = await make_user("writer", scopes="write")
    r = await client.get(f"{API}/relationships", params={"id[]": bob.account_id}, headers=writer.headers)
    assert r.status_code == 403


async def test_scopes_per_action(client, make_user) -> None:
    bob = await make_user("bob")
    mutes_only = await make_user("muter", scopes="write:mutes")
    r = await _post(client, mutes_only, f"{API}/{bob.account_id}/mute")
    assert r.status_code == 200
    r = await _post(client, mutes_only, f"{API}/{bob.account_id}/block")
    assert r.status_code == 403
    r = await _post(client, mutes_only, f"{API}/{bob.account_id}/follow")
    assert r.status_code == 403
    r = await _post(client, mutes_only, f"{API}/{bob.account_id}/note", json={"comment": "x"})
    assert r.status_code == 403


async def test_bad_input_is_never_a_server_error(client, container, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    target = f"{API}/{bob.account_id}"
    garbage: list[Any] = [
        {"languages": {"a": 1}},
        {"languages": "en", "reblogs": {"x": 1}, "notify": [1]},
        {"languages": [None, 3, ""]},
        {"duration": 1e300},
        {"duration": "99999999999999999999999"},
        {"duration": [1]},
        {"notifications": {"x": 1}},
        {"comment": ["a", "b"]},
        {"comment": 12},
        {"domain": ["a.example"]},
        {"domain": "a" * 300 + ".example"},
        {"domain": "\udcff.example"},
        {"domain": "xn--.example"},
    ]
    posts = [f"{target}/{a}" for a in ("follow", "mute", "note", "block", "unmute", "endorse")]
    posts.append("/api/v1/domain_blocks")
    for path in posts:
        for body in garbage:
            try:
                r = await client.post(path, json=body, headers=alice.headers)
            except UnicodeEncodeError:
                continue  # the client itself cannot send a lone surrogate
            assert r.status_code < 500, (path, body, r.text)
        r = await client.post(
            path, content=b"{not json", headers={**alice.headers, "content-type": "application/json"}
        )
        # Endpoints that take parameters say the body is broken; the others do not read it.
        takes_params = path.endswith(("/follow", "/mute", "/note", "/domain_blocks"))
        if takes_params:
            assert r.status_code == 400, (path, r.text)
        assert r.status_code < 500, (path, r.text)
    for params in (
        {"max_id": "1e5"},
        {"since_id": str(2**70)},
        {"min_id": "-3"},
        {"limit": "lots"},
        {"id[]": ["x", str(2**80)]},
        {"q": "%_%", "offset": "-1", "limit": "-7"},
    ):
        for path in (
            f"{target}/followers",
            f"{target}/following",
            f"{target}/endorsements",
            "/api/v1/blocks",
            "/api/v1/mutes",
            "/api/v1/domain_blocks",
            "/api/v1/follow_requests",
            "/api/v1/endorsements",
            f"{API}/relationships",
            f"{API}/familiar_followers",
            f"{API}/search",
        ):
            r = await client.get(path, params=params, headers=alice.headers)
            assert r.status_code in (200, 400), (path, params, r.text)
