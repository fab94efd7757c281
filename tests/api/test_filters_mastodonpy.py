"""Filters through Mastodon.py over real HTTP, as its own test suite drives them."""

from __future__ import annotations

from typing import Any

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> list[str]:
    tokens = []
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write follow push")
        for name in ("alice", "bob"):
            _, user = await create_local_account(
                uow.session,
                NewAccount(username=name, email=f"{name}@example.com", password="long enough pw"),
                uris=live.container.uris,
            )
            token = await issue_token(
                uow.session, application=app, user=user, scopes=["read", "write", "follow"]
            )
            tokens.append(token.access_token)
    return tokens


def test_mastodon_py_filters(live_server: Any) -> None:
    alice_token, bob_token = live_server.run(_seed(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=alice_token, version_check_mode="none")
    api2 = Mastodon(api_base_url=live_server.url, access_token=bob_token, version_check_mode="none")

    # v1, as test_filters.py in Mastodon.py does.
    keyword_filter = api.filter_create(
        "anime", ["notifications"], irreversible=False, whole_word=True, expires_in=None
    )
    assert keyword_filter.irreversible is False and keyword_filter.whole_word is True
    assert keyword_filter in api.filters()
    assert api.filter(keyword_filter.id) == keyword_filter
    api.filter_update(keyword_filter, phrase="japanimation")
    assert api.filter(keyword_filter.id).phrase == "japanimation"
    api.filter_delete(keyword_filter)

    # v2 with keywords.
    new_filter = api2.create_filter_v2(
        title="Test Filter",
        context=["home", "public"],
        filter_action="warn",
        keywords_attributes=[
            {"keyword": "spam", "whole_word": True},
            {"keyword": "eggs", "whole_word": False},
        ],
    )
    assert new_filter.title == "Test Filter" and len(new_filter.keywords) == 2
    assert api2.filter_v2(new_filter.id).title == "Test Filter"
    updated = api2.update_filter_v2(new_filter.id, title="Updated Title", filter_action="hide")
    assert updated.title == "Updated Title" and updated.filter_action == "hide"
    keyword_ids = [k.id for k in api2.filter_keywords_v2(new_filter.id)]
    assert api2.add_filter_keyword_v2(new_filter.id, keyword="foo", whole_word=True).keyword == "foo"
    assert len(api2.filter_keywords_v2(new_filter.id)) == 3
    api2.delete_filter_keyword_v2(keyword_ids[0])
    assert len(api2.filter_keywords_v2(new_filter.id)) == 2

    # v2 with statuses.
    status = api.status_post("This is a test status for filter!", visibility="public")
    filter_status = api2.add_filter_status_v2(new_filter.id, status.id)
    assert filter_status.status_id == status.id
    (listed,) = api2.filter_statuses_v2(new_filter.id)
    assert api2.filter_status_v2(listed.id).status_id == status.id
    api2.delete_filter_status_v2(listed.id)
    assert api2.filter_statuses_v2(new_filter.id) == []

    # Another user's filter does not exist for them.
    with pytest.raises(MastodonNotFoundError):
        api.filter_v2(new_filter.id)
    api2.delete_filter_v2(new_filter.id)
    assert api2.filters_v2() == []
