"""Search, hashtags, featured tags, trends and suggestions through Mastodon.py over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from mastodon import Mastodon

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> list[str]:
    tokens = []
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write follow push")
        for name in ("mastodonpy_test", "admin", "admin2"):
            _, user = await create_local_account(
                uow.session,
                NewAccount(
                    username=name, email=f"{name}@example.com", password="long enough pw", allow_reserved=True
                ),
                uris=live.container.uris,
            )
            token = await issue_token(
                uow.session, application=app, user=user, scopes=["read", "write", "follow"]
            )
            tokens.append(token.access_token)
    return tokens


def test_mastodon_py_discovery(live_server: Any) -> None:
    token, other, _ = live_server.run(_seed(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=token, version_check_mode="none")
    api2 = Mastodon(api_base_url=live_server.url, access_token=other, version_check_mode="none")

    statuses = [
        api.status_post("cool free #ringtones mastodonpy_test"),
        api.status_post("more cool free #ringtones"),
    ]
    assert isinstance(api.search_v2("mastodonpy_test"), dict)
    results = api.search("mastodonpy_test", result_type="statuses")
    assert results["hashtags"] == [] and results["accounts"] == []
    assert [s.id for s in results["statuses"]] == [statuses[0].id]
    first = api.search_v2("admin", resolve=True, exclude_unreviewed=True, result_type="accounts", limit=1)
    second = api.search_v2(
        "admin", resolve=True, exclude_unreviewed=True, result_type="accounts", limit=1, offset=1
    )
    assert [a.username for a in first.accounts + second.accounts] == ["admin", "admin2"]
    assert [t.name for t in api.search_v2("#ring", result_type="hashtags").hashtags] == ["ringtones"]

    assert any(tag.name == "ringtones" for tag in api.featured_tag_suggestions())
    featured = api.featured_tag_create("ringtones")
    assert featured.name == "ringtones" and featured.statuses_count == "2"
    featured_2 = api.featured_tag_create("#coolfree")
    assert featured_2.name == "coolfree"
    api.featured_tag_delete(featured)
    (left,) = api.account_featured_tags(api.account_verify_credentials())
    assert left.name == "coolfree" and "url" in left
    tag = api.tag_feature("ringtones")
    assert tag.featuring is True
    assert api.tag_unfeature(tag).featuring is False

    api.tag_unfollow("heeho")
    before = api.followed_tags()
    followed = api.tag_follow("heeho")
    assert followed.name == "heeho" and followed.following is True
    assert len(before) < len(api.followed_tags())
    assert api.tag_unfollow(followed).following is False
    assert api.tag("heeho").following is False

    assert isinstance(api.trending_tags(), list)
    assert isinstance(api.trends(), list)
    assert isinstance(api.trending_statuses(), list)
    assert isinstance(api.trending_links(), list)

    suggestions = api2.suggestions()
    assert len(suggestions) > 0
    api2.suggestion_delete(suggestions[0].account if "account" in suggestions[0] else suggestions[0])
    assert len(api2.suggestions()) < len(suggestions)
    assert isinstance(api2.suggestions_v1(), list)
