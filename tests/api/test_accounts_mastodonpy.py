"""Accounts through Mastodon.py over real HTTP, the way client apps use them.

`live_server` (tests/api/conftest.py) is a uvicorn thread with its own container and loop.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError, MastodonUnauthorizedError
from PIL import Image

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def _seed(live: Any) -> dict[str, str]:
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write follow push")
        _, alice = await create_local_account(
            uow.session,
            NewAccount(username="alice", email="alice@example.com", password="long enough pw"),
            uris=live.container.uris,
        )
        await create_local_account(
            uow.session,
            NewAccount(username="bob", email="bob@example.com", password="long enough pw"),
            uris=live.container.uris,
        )
        user_token = await issue_token(uow.session, application=app, user=alice, scopes=["read", "write"])
        app_token = await issue_token(uow.session, application=app, user=None, scopes=["read", "write"])
    return {
        "user": user_token.access_token,
        "app": app_token.access_token,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }


def test_mastodon_py_profile_round_trip(live_server: Any, tmp_path: Path) -> None:
    tokens = live_server.run(_seed(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=tokens["user"], version_check_mode="none")
    try:
        me = api.account_verify_credentials()
        assert me.username == "alice"
        assert me.source.privacy == "public"

        avatar_path = tmp_path / "me.png"
        Image.new("RGB", (640, 480), (30, 160, 90)).save(avatar_path)
        # Mastodon.py leaves a file it opened from a path unclosed, so hand it an open file.
        with avatar_path.open("rb") as avatar:
            updated = api.account_update_credentials(
                avatar=avatar,
                avatar_mime_type="image/png",
                display_name="Alice A.",
                note="Hello from https://example.com",
                fields=[("Website", "https://alice.example"), ("Pronouns", "she/her")],
                locked=True,
                default_privacy="unlisted",
            )
        assert updated.display_name == "Alice A."
        assert updated.locked is True
        assert [f.name for f in updated.fields] == ["Website", "Pronouns"]
        assert updated.source.privacy == "unlisted"
        assert updated.avatar.startswith(f"{live_server.url}/media/accounts/avatars/")
        image = requests.get(updated.avatar, timeout=10)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(image.content)) as decoded:
            assert decoded.size == (400, 400)

        shown = api.account(me.id)
        assert shown.display_name == "Alice A."
        assert "example.com" in shown.note
        assert shown.created_at is not None

        bob = api.account_lookup("bob")
        assert bob.username == "bob"
        host = live_server.url.split("://", 1)[1]
        assert api.account_lookup(f"alice@{host}").id == me.id
        with pytest.raises(MastodonNotFoundError):
            api.account_lookup("nobody")

        prefs = api.preferences()
        assert prefs["posting:default:visibility"] == "unlisted"

        anonymous = Mastodon(api_base_url=live_server.url, version_check_mode="none")
        assert anonymous.account(bob.id).username == "bob"
        with pytest.raises(MastodonUnauthorizedError):
            anonymous.account_verify_credentials()
    finally:
        api.session.close()


def test_mastodon_py_creates_an_account(live_server: Any) -> None:
    seeded = live_server.run(_seed(live_server))
    api = Mastodon(
        api_base_url=live_server.url,
        client_id=seeded["client_id"],
        client_secret=seeded["client_secret"],
        version_check_mode="none",
    )
    try:
        token = api.create_account(
            "carol", "a long enough password", "carol@example.com", agreement=True, locale="en"
        )
        carol = Mastodon(api_base_url=live_server.url, access_token=token, version_check_mode="none")
        assert carol.account_verify_credentials().username == "carol"
        carol.session.close()
    finally:
        api.session.close()
