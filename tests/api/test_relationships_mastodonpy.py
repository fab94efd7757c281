"""Relationships through Mastodon.py over real HTTP, the way client apps use them."""

from __future__ import annotations

from typing import Any

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token
from kinfolk.domain.relationships.models import Follow

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> dict[str, Any]:
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write follow push")
        tokens: dict[str, Any] = {}
        for name, locked in (("alice", False), ("bob", False), ("carol", True)):
            account, user = await create_local_account(
                uow.session,
                NewAccount(
                    username=name, email=f"{name}@example.com", password="long enough pw", locked=locked
                ),
                uris=live.container.uris,
            )
            issued = await issue_token(
                uow.session, application=app, user=user, scopes=["read", "write", "follow"]
            )
            tokens[name] = (issued.access_token, account.id)
        # Five quiet followers for Bob, to page through.
        for i in range(5):
            fan = Account(username=f"fan{i}", acct_key=f"fan{i}@")
            uow.session.add(fan)
            await uow.session.flush()
            uow.session.add_all(
                [
                    AccountStats(account_id=fan.id),
                    User(account_id=fan.id, email=f"fan{i}@example.com", password_hash="-"),
                    Follow(account_id=fan.id, target_account_id=tokens["bob"][1]),
                ]
            )
            await uow.session.flush()
    return tokens


def test_mastodon_py_relationship_flows(live_server: Any) -> None:
    tokens = live_server.run(_seed(live_server))

    def api(name: str) -> Mastodon:
        return Mastodon(api_base_url=live_server.url, access_token=tokens[name][0], version_check_mode="none")

    alice, bob, carol = api("alice"), api("bob"), api("carol")
    alice_id, bob_id, carol_id = tokens["alice"][1], tokens["bob"][1], tokens["carol"][1]

    rel = alice.account_follow(bob_id, reblogs=False, notify=True)
    assert rel.following is True and rel.showing_reblogs is False and rel.notifying is True
    [rel] = bob.account_relationships(alice_id)
    assert rel.followed_by is True

    # Followers page by page with the Link header, as clients do.
    page = bob.account_followers(bob_id, limit=2)
    seen = [a.acct for a in page]
    while (page := bob.fetch_next(page)) is not None:
        seen.extend(a.acct for a in page)
    assert seen[0] == "alice"
    assert sorted(seen) == sorted(["alice", *(f"fan{i}" for i in range(5))])
    assert len(seen) == len(set(seen))

    # A locked account: a request, then authorized.
    rel = alice.account_follow(carol_id)
    assert rel.requested is True and rel.following is False
    requests = carol.follow_requests()
    assert [int(a.id) for a in requests] == [alice_id]
    rel = carol.follow_request_authorize(alice_id)
    assert rel.followed_by is True
    assert carol.account(carol_id).followers_count == 1

    # Notes, endorsements, familiar followers.
    assert alice.account_note_set(bob_id, "from work").note == "from work"
    assert alice.account_endorse(bob_id).endorsed is True
    assert [int(a.id) for a in alice.endorsements()] == [bob_id]
    familiar = carol.account_familiar_followers(bob_id)
    assert int(familiar[0].id) == bob_id and familiar[0].accounts == []
    bob.account_follow(carol_id)  # Carol is locked: still a request
    assert [int(r.id) for r in carol.follow_requests()] == [bob_id]
    carol.follow_request_reject(bob_id)
    assert carol.follow_requests() == []

    # Mutes and blocks.
    rel = alice.account_mute(bob_id, notifications=False, duration=600)
    assert rel.muting is True and rel.muting_notifications is False
    assert [int(a.id) for a in alice.mutes()] == [bob_id]
    assert alice.account_unmute(bob_id).muting is False
    rel = bob.account_block(alice_id)
    assert rel.blocking is True and rel.followed_by is False
    with pytest.raises(MastodonAPIError):
        alice.account_follow(bob_id)
    assert [int(a.id) for a in bob.blocks()] == [alice_id]
    assert bob.account_unblock(alice_id).blocking is False

    # Domain blocks and search.
    alice.domain_block("spam.example")
    assert alice.domain_blocks() == ["spam.example"]
    alice.domain_unblock("spam.example")
    assert alice.domain_blocks() == []
    assert [a.acct for a in alice.account_search("car")] == ["carol"]
    assert [a.acct for a in alice.account_search("fan", limit=2)] == ["fan0", "fan1"]

    assert bob.account_remove_from_followers(carol_id).followed_by is False
    with pytest.raises(MastodonNotFoundError):
        alice.account_follow(987654321)
