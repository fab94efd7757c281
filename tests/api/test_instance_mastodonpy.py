"""The discovery endpoints through Mastodon.py, the way a real client sees them over HTTP.

`live_server` (tests/api/conftest.py) is a LiveServer: a uvicorn thread with its own container.
"""

from __future__ import annotations

from typing import Any

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.instance import service

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> None:
    async with live.container.db.uow() as uow:
        await create_local_account(
            uow.session,
            NewAccount(username="boss", email="boss@example.com", password="long enough pw", role="owner"),
            uris=live.container.uris,
        )
        await service.add_rule(uow.session, "Be excellent to each other", hint="Always.")


def test_mastodon_py_reads_the_instance(live_server: Any) -> None:
    live_server.run(_seed(live_server))
    api = Mastodon(api_base_url=live_server.url, version_check_mode="created")
    try:
        assert api.retrieve_mastodon_version() == "4.5.0"
        assert (api.mastodon_major, api.mastodon_minor, api.mastodon_patch) == (4, 5, 0)
        assert api.verify_minimum_version("4.5.0", cached=True)

        v2 = api.instance()
        assert v2.domain == live_server.url.split("://", 1)[1]
        assert v2.configuration.statuses.max_characters == 500
        assert v2.contact.account.username == "boss"
        assert [rule.text for rule in v2.rules] == ["Be excellent to each other"]

        v1 = api.instance_v1()
        assert v1.stats.user_count == 1
        assert v1.version.startswith("4.5.0 (compatible; Kinfolk ")

        nodeinfo = api.instance_nodeinfo()
        assert nodeinfo.software.name == "kinfolk"
        assert nodeinfo.usage.users.total == 1
        newer = api.instance_nodeinfo(schema="http://nodeinfo.diaspora.software/ns/schema/2.1")
        assert newer.version == "2.1"

        rules = api.instance_rules()
        assert [(rule.text, rule.hint) for rule in rules] == [("Be excellent to each other", "Always.")]
        assert len(api.instance_activity()) == 12
        assert api.instance_peers() == []
        assert api.instance_health() is True
        assert api.custom_emojis() == []
        assert api.instance_translation_languages() == {}
        with pytest.raises(MastodonNotFoundError):  # not shown by default, as on Mastodon
            api.instance_domain_blocks()
        assert any(lang.code == "en" for lang in api.instance_languages())
        assert api.instance_extended_description().content.startswith("<p>")
    finally:
        api.session.close()
