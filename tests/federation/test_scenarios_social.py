"""Issue 12's scenarios between three real Kinfolk servers, as their users see them through
Mastodon.py: follows (open and locked), posts reaching followers' home timelines and streams, a
reply thread across three servers, boosts and favourites and their undo, edits, deletes, blocks,
and a followers-only post that never leaves its audience.

One set of servers (alpha, beta, gamma) serves every test of the module; each test makes users
of its own and never stops a server. Delivery is eventual: every check polls (`wait_until`).
An absence ("never reaches") is checked after a later delivery on the same path has arrived."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from functools import partial

import pytest
from mastodon import MastodonNotFoundError, MastodonUnauthorizedError

from tests.federation.harness import Federation, User, wait_until
from tests.federation.social import (
    UserStream,
    ap_get,
    find_account,
    find_status,
    follow,
    home_uris,
    notifications,
    relationship,
    wait_in_home,
)


def test_follow_is_accepted_at_once(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_follow")
    bob = trio["beta"].create_user("bob_follow")

    found = alice.api.account_search(f"@{bob.acct}", resolve=True)
    assert [a["acct"] for a in found] == [bob.acct]
    bob_on_alpha = found[0]
    assert bob_on_alpha["url"].startswith(trio["beta"].origin)
    assert bob_on_alpha["username"] == "bob_follow"

    alice.api.account_follow(bob_on_alpha["id"])
    wait_until(lambda: relationship(alice, bob_on_alpha["id"])["following"], what="alice following bob")
    assert relationship(alice, bob_on_alpha["id"])["requested"] is False

    bob_me = bob.api.me()
    followers = wait_until(lambda: bob.api.account_followers(bob_me["id"]), what="bob's followers")
    assert [a["acct"] for a in followers] == [alice.acct]
    alice_on_beta = followers[0]
    assert relationship(bob, alice_on_beta["id"])["followed_by"] is True
    wait_until(
        lambda: [n["account"]["acct"] for n in notifications(bob, "follow")] == [alice.acct],
        what="bob notified of alice's follow",
    )
    assert wait_until(lambda: bob.api.account(bob_me["id"])["followers_count"] == 1)


def test_a_locked_account_approves_and_rejects(trio: Federation) -> None:
    bob = trio["beta"].create_user("bob_locked", locked=True)
    alice = trio["alpha"].create_user("alice_locked")
    carol = trio["alpha"].create_user("carol_locked")

    for asker in (alice, carol):
        account = find_account(asker, bob)
        assert account["locked"] is True
        asker.api.account_follow(account["id"])
        assert relationship(asker, account["id"])["requested"] is True
        assert relationship(asker, account["id"])["following"] is False

    requests = wait_until(
        lambda: (lambda r: r if len(r) == 2 else None)(bob.api.follow_requests()),
        what="two follow requests on beta",
    )
    by_acct = {a["acct"]: a for a in requests}
    assert set(by_acct) == {alice.acct, carol.acct}
    assert bob.api.account_followers(bob.api.me()["id"]) == []

    bob.api.follow_request_authorize(by_acct[alice.acct]["id"])
    bob.api.follow_request_reject(by_acct[carol.acct]["id"])

    bob_for_alice = find_account(alice, bob)["id"]
    bob_for_carol = find_account(carol, bob)["id"]
    wait_until(lambda: relationship(alice, bob_for_alice)["following"], what="alice's request accepted")
    assert relationship(alice, bob_for_alice)["requested"] is False
    wait_until(
        lambda: not relationship(carol, bob_for_carol)["requested"], what="carol's request rejected on alpha"
    )
    assert relationship(carol, bob_for_carol)["following"] is False
    assert [a["acct"] for a in bob.api.account_followers(bob.api.me()["id"])] == [alice.acct]
    assert bob.api.follow_requests() == []


def test_a_post_reaches_a_remote_followers_home_and_stream(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_post")
    bob = trio["beta"].create_user("bob_post")
    follow(bob, alice)

    with UserStream(bob) as stream:
        posted = alice.api.status_post("hello beta, from alpha", visibility="public")
        seen = wait_in_home(bob, posted["uri"])
        streamed = stream.wait_update(posted["uri"])

    for status in (seen, streamed):
        assert status["account"]["acct"] == alice.acct
        assert "hello beta, from alpha" in status["content"]
        assert status["visibility"] == "public"
        assert status["url"].startswith(trio["alpha"].origin)
    # Once, however many deliveries it took.
    assert home_uris(bob).count(posted["uri"]) == 1


def test_a_reply_thread_across_three_servers_is_whole_on_each(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_thread")
    bob = trio["beta"].create_user("bob_thread")
    carol = trio["gamma"].create_user("carol_thread")
    for user in (alice, bob, carol):  # everyone knows everyone (mentions resolve locally)
        for other in (alice, bob, carol):
            if other is not user:
                find_account(user, other)

    root = alice.api.status_post("a question for everyone", visibility="public")
    root_on_beta = find_status(bob, root["uri"])
    reply = bob.api.status_post(
        f"@{alice.acct} an answer", in_reply_to_id=root_on_beta["id"], visibility="public"
    )
    reply_on_gamma = find_status(carol, reply["uri"])
    leaf = carol.api.status_post(
        f"@{bob.acct} @{alice.acct} and a follow-up", in_reply_to_id=reply_on_gamma["id"], visibility="public"
    )
    thread = [root["uri"], reply["uri"], leaf["uri"]]

    def whole(user: User) -> bool:
        leaf_here = find_status(user, leaf["uri"])
        root_here = find_status(user, root["uri"])
        up = [s["uri"] for s in user.api.status_context(leaf_here["id"])["ancestors"]]
        down = [s["uri"] for s in user.api.status_context(root_here["id"])["descendants"]]
        return up == thread[:2] and down == thread[1:]

    for user in (alice, bob, carol):
        wait_until(partial(whole, user), 30, what=f"the whole thread on {user.server.name}")
    # The mentioned authors were told.
    wait_until(
        lambda: {n["status"]["uri"] for n in notifications(alice, "mention")} == {reply["uri"], leaf["uri"]},
        what="alice mentioned by the reply and the follow-up",
    )
    wait_until(
        lambda: [n["status"]["uri"] for n in notifications(bob, "mention")] == [leaf["uri"]],
        what="bob mentioned by the follow-up",
    )


def test_boost_and_favourite_notify_and_their_undo_removes_them(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_fav")
    bob = trio["beta"].create_user("bob_fav")
    posted = alice.api.status_post("like me", visibility="public")
    there = find_status(bob, posted["uri"])

    bob.api.status_favourite(there["id"])
    bob.api.status_reblog(there["id"])
    wait_until(
        lambda: [n["account"]["acct"] for n in notifications(alice, "favourite")] == [bob.acct],
        what="alice notified of bob's favourite",
    )
    wait_until(
        lambda: [n["account"]["acct"] for n in notifications(alice, "reblog")] == [bob.acct],
        what="alice notified of bob's boost",
    )
    mine = alice.api.status(posted["id"])
    assert (mine["favourites_count"], mine["reblogs_count"]) == (1, 1)
    assert [a["acct"] for a in alice.api.status_favourited_by(posted["id"])] == [bob.acct]
    assert [a["acct"] for a in alice.api.status_reblogged_by(posted["id"])] == [bob.acct]
    assert notifications(alice, "favourite")[0]["status"]["id"] == posted["id"]

    bob.api.status_unfavourite(there["id"])
    bob.api.status_unreblog(there["id"])
    wait_until(
        lambda: (lambda s: (s["favourites_count"], s["reblogs_count"]) == (0, 0))(
            alice.api.status(posted["id"])
        ),
        what="the favourite and the boost undone on alpha",
    )
    assert alice.api.status_favourited_by(posted["id"]) == []
    assert alice.api.status_reblogged_by(posted["id"]) == []
    assert notifications(alice, "favourite") == []
    assert notifications(alice, "reblog") == []


def test_an_edit_shows_its_history_remotely(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_edit")
    bob = trio["beta"].create_user("bob_edit")
    follow(bob, alice)
    posted = alice.api.status_post("first words", visibility="public")
    there = wait_in_home(bob, posted["uri"])

    alice.api.status_update(posted["id"], status="second thoughts")
    wait_until(lambda: "second thoughts" in bob.api.status(there["id"])["content"], what="the edit on beta")
    edited = bob.api.status(there["id"])
    assert edited["edited_at"] is not None
    history = bob.api.status_history(there["id"])
    assert ["first words" in h["content"] for h in history] == [True, False]
    assert "second thoughts" in history[-1]["content"]
    assert history[0]["account"]["acct"] == alice.acct


def test_a_delete_reaches_every_server_that_had_the_post(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_delete")
    bob = trio["beta"].create_user("bob_delete")
    carol = trio["gamma"].create_user("carol_delete")
    follow(bob, alice)
    follow(carol, alice)
    posted = alice.api.status_post("soon gone", visibility="public")
    copies = {user.acct: (user, wait_in_home(user, posted["uri"])) for user in (bob, carol)}
    bob.api.status_reblog(copies[bob.acct][1]["id"])  # held by another account there too
    wait_until(lambda: alice.api.status(posted["id"])["reblogs_count"] == 1, what="bob's boost on alpha")

    alice.api.status_delete(posted["id"])

    def gone(user: User, status_id: str) -> bool:
        try:
            user.api.status(status_id)
        except MastodonNotFoundError:
            return True
        return False

    for user, copy in copies.values():
        wait_until(partial(gone, user, copy["id"]), what=f"the post gone from {user.server.name}")
        assert posted["uri"] not in home_uris(user)
        assert user.api.search_v2(posted["uri"], resolve=True, result_type="statuses")["statuses"] == []
    status, _ = ap_get(trio["alpha"], posted["uri"])
    assert status in (404, 410)


def test_a_block_stops_delivery_both_ways(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_block")
    witness_alpha = trio["alpha"].create_user("wit_alpha_block")
    bob = trio["beta"].create_user("bob_block")
    witness_beta = trio["beta"].create_user("wit_beta_block")
    bob_on_alpha = follow(alice, bob)
    alice_on_beta = follow(bob, alice)
    follow(alice, witness_beta)
    follow(bob, witness_alpha)

    alice.api.account_block(bob_on_alpha["id"])
    # Both follows are gone on both sides.
    assert relationship(alice, bob_on_alpha["id"])["blocking"] is True
    wait_until(
        lambda: not relationship(bob, alice_on_beta["id"])["following"],
        what="bob's follow of alice removed on beta",
    )
    wait_until(
        lambda: bob.api.account_followers(bob.api.me()["id"]) == [],
        what="alice no longer bob's follower on beta",
    )
    assert relationship(alice, bob_on_alpha["id"])["following"] is False
    assert alice.api.account_followers(alice.api.me()["id"]) == []

    from_alice = alice.api.status_post("after the block, from alice", visibility="public")
    from_bob = bob.api.status_post("after the block, from bob", visibility="public")
    # Later posts on the same paths arrive; the blocked ones never do.
    after_alice = witness_alpha.api.status_post("a later post from alpha", visibility="public")
    after_bob = witness_beta.api.status_post("a later post from beta", visibility="public")
    wait_in_home(bob, after_alice["uri"])
    wait_in_home(alice, after_bob["uri"])
    assert from_alice["uri"] not in home_uris(bob)
    assert from_bob["uri"] not in home_uris(alice)


def test_a_followers_only_post_never_reaches_a_non_follower(trio: Federation) -> None:
    alice = trio["alpha"].create_user("alice_private")
    bob = trio["beta"].create_user("bob_private")
    dan = trio["beta"].create_user("dan_private")  # on a follower's server, not a follower
    carol = trio["gamma"].create_user("carol_private")  # on a server with no follower of alice
    follow(bob, alice)
    for user in (dan, carol):
        find_account(user, alice)

    private = alice.api.status_post("for my followers only", visibility="private")
    public = alice.api.status_post("for everyone", visibility="public")
    seen = wait_in_home(bob, private["uri"])
    assert seen["visibility"] == "private"
    wait_in_home(bob, public["uri"])

    for user in (dan, carol):
        assert user.api.search_v2(private["uri"], resolve=True, result_type="statuses")["statuses"] == []
        assert private["uri"] not in home_uris(user)
        assert private["uri"] not in [s["uri"] for s in user.api.timeline_public(limit=40)]
        alice_there = find_account(user, alice)
        assert private["uri"] not in [s["uri"] for s in user.api.account_statuses(alice_there["id"])]
    with pytest.raises(MastodonNotFoundError):
        dan.api.status(seen["id"])
    # A crafted fetch of the post (unsigned, as any stranger could) is refused; the public one answers.
    assert ap_get(trio["alpha"], private["uri"])[0] == 404
    assert ap_get(trio["alpha"], public["uri"])[0] == 200


def test_a_deleted_account_vanishes_from_every_server_that_knew_it(trio: Federation) -> None:
    """`kinfolk accounts delete` on alpha: its `Delete` of the actor reaches beta (a follower's
    server, first) and gamma (known only from a boost and a reply, with every known inbox), and
    alice, her posts and what they counted vanish there."""
    alpha = trio["alpha"]
    alice = alpha.create_user("alice_gone")
    bob = trio["beta"].create_user("bob_gone")
    carol = trio["gamma"].create_user("carol_gone")
    follow(bob, alice)
    posted = alice.api.status_post("soon all gone", visibility="public")
    on_beta = wait_in_home(bob, posted["uri"])
    theirs = carol.api.status_post("carol's own post", visibility="public")
    there = find_status(alice, theirs["uri"])
    alice.api.status_reblog(there["id"])
    reply = alice.api.status_post(f"@{carol.acct} a reply", in_reply_to_id=there["id"], visibility="public")
    wait_until(
        lambda: (lambda s: (s["reblogs_count"], s["replies_count"]) == (1, 1))(
            carol.api.status(theirs["id"])
        ),
        what="alice's boost and reply counted on gamma",
    )
    reply_on_gamma = find_status(carol, reply["uri"])
    copies = {
        "beta": (bob, find_account(bob, alice)["id"], [on_beta["id"]]),
        "gamma": (carol, find_account(carol, alice)["id"], [reply_on_gamma["id"]]),
    }
    assert bob.api.account_verify_credentials()["following_count"] == 1

    alpha.cli("accounts", "delete", alice.username, "--yes")

    def missing(call: Callable[[], object]) -> bool:
        try:
            call()
        except MastodonNotFoundError:
            return True
        return False

    for name, (user, account_id, status_ids) in copies.items():
        wait_until(
            partial(missing, partial(user.api.account, account_id)), 40, what=f"alice gone from {name}"
        )
        for status_id in status_ids:
            assert missing(partial(user.api.status, status_id)), f"alice's post still on {name}"
        assert missing(partial(user.api.account_lookup, alice.acct))
        assert posted["uri"] not in home_uris(user) and reply["uri"] not in home_uris(user)
        assert user.api.account_search(alice.acct) == []
    assert bob.api.account_verify_credentials()["following_count"] == 0
    mine = carol.api.status(theirs["id"])
    assert (mine["reblogs_count"], mine["replies_count"]) == (0, 0)
    assert missing(partial(carol.api.status_context, reply_on_gamma["id"]))
    # On alpha: the actor is gone (410), the name unknown to WebFinger and the API, her token dead.
    status, _ = ap_get(alpha, f"{alpha.origin}/users/{alice.username}")
    assert status == 410
    for path in (
        f"/.well-known/webfinger?resource=acct:{alice.acct}",
        f"/api/v1/accounts/lookup?acct={alice.username}",
        f"/api/v1/statuses/{posted['id']}",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(alpha.url + path, timeout=10)
        refused.value.close()
        assert refused.value.code == 404, path
    with pytest.raises(MastodonUnauthorizedError):
        alice.api.account_verify_credentials()
