"""A reply tree of 12 posts over three real Kinfolk servers, seen whole on each once its root's
context is opened there.

Nobody follows anybody: each reply goes only to the server of the post it answers (and each
replier finds that post by searching its URI), so every server holds a different part of the
tree. Opening the root's context asks for the thread's backfill (once); each server then walks
the `replies` collections (its own posts' replies from its database, the others' from their
servers) and shows all eleven replies, without notifying anyone of old posts."""

from __future__ import annotations

from tests.federation.conftest import StartFederation
from tests.federation.harness import User, wait_until
from tests.federation.social import find_status, notifications

# (name, author, parent): the root is "root"; each server's user writes some of the replies.
TREE = (
    ("r1", "b", "root"),
    ("r2", "c", "root"),
    ("r3", "c", "r1"),
    ("r4", "b", "r1"),
    ("r5", "b", "r2"),
    ("r6", "a", "r3"),
    ("r7", "a", "r2"),
    ("r8", "c", "r5"),
    ("r9", "c", "r7"),
    ("r10", "b", "r8"),
    ("r11", "b", "root"),
)


def test_a_reply_tree_over_three_servers_is_seen_whole_on_each(start_federation: StartFederation) -> None:
    fed = start_federation(["alpha", "beta", "gamma"])
    users: dict[str, User] = {
        "a": fed["alpha"].create_user("ann_thread"),
        "b": fed["beta"].create_user("ben_thread"),
        "c": fed["gamma"].create_user("cyd_thread"),
    }
    uris = {"root": users["a"].api.status_post("the root of a long thread")["uri"]}
    authors = {"root": "a"}
    for name, author, parent in TREE:
        replier = users[author]
        parent_here = find_status(replier, uris[parent])
        # As clients do, a reply to someone else mentions them.
        mention = "" if authors[parent] == author else f"{users[authors[parent]].handle} "
        posted = replier.api.status_post(f"{mention}reply {name}", in_reply_to_id=parent_here["id"])
        uris[name], authors[name] = posted["uri"], author
    everything = set(uris.values()) - {uris["root"]}
    assert len(everything) == 11

    for key, user in users.items():
        root = find_status(user, uris["root"])

        def whole(user: User = user, root_id: str = root["id"]) -> bool:
            return {s["uri"] for s in user.api.status_context(root_id)["descendants"]} == everything

        wait_until(whole, timeout=30, what=f"the whole tree on {key}'s server")
    # Posts fetched to complete the thread notify nobody: each user has one mention
    # notification per reply to their posts by someone else, and no more.
    for key, user in users.items():
        expected = {uris[n] for n, author, parent in TREE if authors[parent] == key and author != key}
        assert {n["status"]["uri"] for n in notifications(user, "mention")} == expected
        assert len(notifications(user, "mention")) == len(expected)
