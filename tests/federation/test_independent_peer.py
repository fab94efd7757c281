"""The independent peer (independent.py) works on its own, before Kinfolk federates: two pubby
servers under their own names follow each other, deliver signed notes and refuse unsigned ones.
What these show about pubby is what the Kinfolk-against-pubby tests below rely on: follow, post,
reply and delete between pubby and Kinfolk in both directions."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.federation.harness import Federation, wait_until
from tests.federation.independent import PubbyPeer, available
from tests.federation.social import actor_id, home_uris, notifications, relationship, wait_in_home


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PubbyPeer, PubbyPeer]]:
    missing = available()
    if missing:
        unavailable("the independent ActivityPub peer", missing)
    tmp: Path = tmp_path_factory.mktemp("peers")
    one = PubbyPeer.start(tmp, name="one", hosts=["two.test"])
    two = None
    try:
        two = PubbyPeer.start(tmp, name="two", hosts=["one.test"])
        yield one, two
    finally:
        one.close()
        if two is not None:
            two.close()


def test_webfinger_and_actor_under_its_own_name(peers: tuple[PubbyPeer, PubbyPeer]) -> None:
    one, _ = peers
    finger = one.webfinger()
    assert finger["subject"] == f"acct:one@{one.domain}"
    assert any(link.get("href") == one.actor_id for link in finger["links"])
    actor = one.actor()
    assert actor["id"] == one.actor_id
    assert actor["inbox"].startswith(one.origin)
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]
    assert actor["publicKey"]["id"] == f"{one.actor_id}#main-key"


def test_follow_accept_create_delete_between_two_peers(peers: tuple[PubbyPeer, PubbyPeer]) -> None:
    one, two = peers
    follow = one.follow(two.actor_id)
    # two verified one's signed Follow, stored it and sent a signed Accept that one verified.
    assert two.wait_received("Follow", id=follow["id"])["actor"] == one.actor_id
    assert one.wait_received("Accept", actor=two.actor_id)
    assert two.followers() == [one.actor_id]

    created = two.post("<p>hello from two</p>")
    note = created["object"]
    assert note["id"].startswith(two.origin) and note["attributedTo"] == two.actor_id
    assert one.wait_received("Create", id=created["id"])["object"]["content"] == "<p>hello from two</p>"

    reply = one.post("<p>a reply</p>", in_reply_to=note["id"], mention=[two.actor_id])
    assert two.wait_received("Create", id=reply["id"])["object"]["inReplyTo"] == note["id"]

    deleted = two.delete(note["id"])
    assert one.wait_received("Delete", id=deleted["id"])["object"] == {"id": note["id"], "type": "Tombstone"}
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(f"{two.url}/notes/{note['id'].rsplit('/', 1)[1]}", timeout=10)
    gone.value.close()
    assert gone.value.code == 410

    undo = one.unfollow(follow)
    assert two.wait_received("Undo", id=undo["id"])["object"]["id"] == follow["id"]
    assert two.followers() == []


def test_an_unsigned_delivery_is_refused(peers: tuple[PubbyPeer, PubbyPeer]) -> None:
    one, two = peers
    forged = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{two.origin}/activities/forged",
        "type": "Create",
        "actor": two.actor_id,
        "object": {"id": f"{two.origin}/notes/forged", "type": "Note", "content": "forged"},
    }
    request = urllib.request.Request(
        f"{one.url}/ap/inbox",
        data=json.dumps(forged).encode(),
        method="POST",
        headers={"Content-Type": "application/activity+json", "Host": one.domain},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 401
    assert not [a for a in one.received() if a.get("id") == forged["id"]]


def test_the_peer_reaches_kinfolk_servers_by_name(
    federation: Federation, independent_peer: PubbyPeer
) -> None:
    """Beside a federation, the peer resolves `alpha.test` to the loopback and its signed GET
    reaches alpha under alpha's own name (the host check would refuse any other)."""
    alpha = federation["alpha"]
    user = alpha.create_user("peer_target")
    query = urllib.parse.urlencode({"resource": f"acct:{user.acct}"})
    status, body = independent_peer.fetch(f"{alpha.origin}/.well-known/webfinger?{query}")
    assert status == 200, body
    assert json.loads(body)["subject"] == f"acct:{user.acct}"


# -- Kinfolk and the independent peer, both directions ------------------------------------------


def test_the_peer_follows_kinfolk_and_receives_its_posts(
    federation: Federation, independent_peer: PubbyPeer
) -> None:
    """pubby follows alice@alpha: Kinfolk accepts (signed, verified by pubby), delivers alice's
    public post, shows pubby's reply in the thread with a mention, and ends the follow on pubby's
    Undo. (pubby sends its Delete of a note to its followers only, so a Delete from pubby is in
    the next test, where alice follows it.)"""
    alice = federation["alpha"].create_user("alice_peer_followed")
    alice_actor = actor_id(alice)
    follow = independent_peer.follow(alice_actor)
    accept = independent_peer.wait_received("Accept", actor=alice_actor)
    accepted = accept["object"]
    assert (accepted if isinstance(accepted, str) else accepted["id"]) == follow["id"]
    me = alice.api.me()
    followers = wait_until(
        lambda: alice.api.account_followers(me["id"]), what="the peer among alice's followers"
    )
    assert [a["acct"] for a in followers] == [independent_peer.acct]

    posted = alice.api.status_post("hello, independent peer", visibility="public")
    create = wait_until(
        lambda: next(
            (a for a in independent_peer.received("Create") if _object_id(a) == posted["uri"]), None
        ),
        what="alice's post verified by the peer",
    )
    assert create["actor"] == alice_actor
    assert "hello, independent peer" in create["object"]["content"]

    reply = independent_peer.post(
        f'<p><a href="{alice_actor}">@{alice.username}</a> hello back</p>',
        in_reply_to=posted["uri"],
        mention=[alice_actor],
    )["object"]
    context = wait_until(
        lambda: alice.api.status_context(posted["id"])["descendants"], what="the peer's reply on alpha"
    )
    assert [s["uri"] for s in context] == [reply["id"]]
    assert context[0]["account"]["acct"] == independent_peer.acct
    assert "hello back" in context[0]["content"]
    wait_until(
        lambda: [n["status"]["uri"] for n in notifications(alice, "mention")] == [reply["id"]],
        what="alice notified of the peer's mention",
    )

    independent_peer.unfollow(follow)
    wait_until(lambda: alice.api.account_followers(me["id"]) == [], what="the peer's unfollow on alpha")


def test_kinfolk_follows_the_peer_and_replies_to_it(
    federation: Federation, independent_peer: PubbyPeer
) -> None:
    """alice@alpha finds and follows pubby (which accepts), sees its posts in her home timeline,
    replies (pubby verifies the reply) and deletes the reply (pubby verifies the Delete)."""
    alice = federation["alpha"].create_user("alice_peer_follower")
    found = alice.api.account_search(f"@{independent_peer.acct}", resolve=True)
    assert [a["acct"] for a in found] == [independent_peer.acct]
    peer_account = found[0]
    alice.api.account_follow(peer_account["id"])
    wait_until(
        lambda: relationship(alice, peer_account["id"])["following"], what="pubby accepted alice's follow"
    )
    assert actor_id(alice) in independent_peer.followers()

    note = independent_peer.post("<p>news from the peer</p>")["object"]
    seen = wait_in_home(alice, note["id"])
    assert seen["account"]["acct"] == independent_peer.acct
    assert "news from the peer" in seen["content"]

    reply = alice.api.status_post(
        f"@{independent_peer.acct} well said", in_reply_to_id=seen["id"], visibility="public"
    )
    create = wait_until(
        lambda: next((a for a in independent_peer.received("Create") if _object_id(a) == reply["uri"]), None),
        what="alice's reply verified by the peer",
    )
    assert create["object"]["inReplyTo"] == note["id"]

    alice.api.status_delete(reply["id"])
    deleted = wait_until(
        lambda: next((a for a in independent_peer.received("Delete") if _object_id(a) == reply["uri"]), None),
        what="alice's Delete verified by the peer",
    )
    assert deleted["actor"] == actor_id(alice)

    independent_peer.delete(note["id"])
    wait_until(lambda: note["id"] not in home_uris(alice), what="the peer's note deleted on alpha")


def test_a_followers_only_post_is_refused_to_a_signed_stranger(
    federation: Federation, independent_peer: PubbyPeer
) -> None:
    """A crafted fetch, signed by a real remote actor that does not follow the author, of a
    followers-only post: 404, as if it did not exist; the author's public post answers."""
    alice = federation["alpha"].create_user("alice_peer_private")
    private = alice.api.status_post("followers only", visibility="private")
    public = alice.api.status_post("everyone", visibility="public")
    status, body = independent_peer.fetch(private["uri"])
    assert status == 404, body
    assert "followers only" not in body
    status, body = independent_peer.fetch(public["uri"])
    assert status == 200, body
    assert json.loads(body)["id"] == public["uri"]


def _object_id(activity: dict[str, object]) -> object:
    obj = activity.get("object")
    return obj.get("id") if isinstance(obj, dict) else obj
