"""Collections through Mastodon.py over real HTTP: its types, and its offset pagination
(`fetch_next` / `fetch_previous` / `pagination_page_iterator`) driven by our Link headers."""

from __future__ import annotations

from typing import Any

import pytest
from mastodon import Mastodon
from mastodon.return_types import Collections, CollectionWithAccounts

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> tuple[str, str]:
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write")
        tokens = []
        for name in ("owner", "member"):
            _, user = await create_local_account(
                uow.session,
                NewAccount(username=name, email=f"{name}@example.com", password="long enough pw"),
                uris=live.container.uris,
            )
            issued = await issue_token(uow.session, application=app, user=user, scopes=["read", "write"])
            tokens.append(issued.access_token)
    return tokens[0], tokens[1]


def test_collections_and_their_pages(live_server: Any) -> None:
    owner_token, member_token = live_server.run(_seed(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=owner_token, version_check_mode="none")
    api3 = Mastodon(api_base_url=live_server.url, access_token=member_token, version_check_mode="none")
    try:
        owner, member = api.account_verify_credentials(), api3.account_verify_credentials()
        created = [
            api.collection_create(
                name=f"Pagination test {i}", discoverable=True, account_ids=[member]
            ).collection
            for i in range(3)
        ]
        first = api.account_collections(owner, limit=1)
        assert isinstance(first, Collections) and len(first.collections) == 1
        second = api.fetch_next(first)
        assert second.collections[0].id != first.collections[0].id
        assert api.fetch_previous(second).collections[0].id == first.collections[0].id
        pages = list(api.pagination_page_iterator(first))
        assert [c.id for page in pages for c in page.collections] == [c.id for c in reversed(created)]
        assert api.get_pagination_info(pages[-1], "next") is None

        featured = api3.account_in_collections(member, limit=2)
        assert [c.id for c in featured.collections] == [c.id for c in created[:2]]
        assert [c.id for c in api3.fetch_next(featured).collections] == [created[2].id]

        shown = api.collection(created[0])
        assert isinstance(shown, CollectionWithAccounts)
        assert [a.username for a in shown.accounts] == ["owner", "member"]
        item = shown.collection.collection_items[0]
        api3.collection_item_revoke(created[0], item)
        assert api.collection(created[0]).collection.item_count == 0

        updated = api.collection_update(created[1], name="Renamed", sensitive=True).collection
        assert updated.name == "Renamed" and updated.sensitive is True and updated.discoverable is True
        added = api.collection_item_add(created[1], owner).collection_item
        api.collection_item_delete(created[1], added)
    finally:
        for collection in locals().get("created", []):
            api.collection_delete(collection)
        api.session.close()
        api3.session.close()
