"""`/api/v1/instance/domain_blocks` is shown as KINFOLK_SHOW_DOMAIN_BLOCKS says: to nobody (404,
Mastodon's default), to signed-in users, or to everyone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kinfolk.config import Settings
from kinfolk.container import Container

URL = "/api/v1/instance/domain_blocks"


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().show_domain_blocks == "disabled"
    monkeypatch.setenv("KINFOLK_SHOW_DOMAIN_BLOCKS", "users")
    assert Settings().show_domain_blocks == "users"
    monkeypatch.setenv("KINFOLK_SHOW_DOMAIN_BLOCKS", "everyone")
    with pytest.raises(ValueError):
        Settings()


async def test_disabled_by_default(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    for headers in ({}, alice.headers):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 404
        assert response.json() == {"error": "Record not found"}


async def test_users_only(client: httpx.AsyncClient, make_user: Any, container: Container) -> None:
    container.settings.show_domain_blocks = "users"
    alice = await make_user("alice")
    assert (await client.get(URL)).status_code == 404
    assert (await client.get(URL, headers={"Authorization": "Bearer nope"})).status_code == 401
    response = await client.get(URL, headers=alice.headers)
    assert response.status_code == 200 and response.json() == []


async def test_everyone(client: httpx.AsyncClient, container: Container) -> None:
    container.settings.show_domain_blocks = "all"
    response = await client.get(URL)
    assert response.status_code == 200 and response.json() == []
    assert response.headers["access-control-allow-origin"] == "*"


async def test_configured_blocks_are_shown(client: httpx.AsyncClient, container: Container) -> None:
    from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain

    container.settings.show_domain_blocks = "all"
    async with container.db.uow() as uow:
        await block_domain(
            uow.session, BlockRequest("spam.example", severity="suspend", public_comment="Spam")
        )
        await block_domain(uow.session, BlockRequest("hidden.example", severity="silence", obfuscate=True))
        await block_domain(uow.session, BlockRequest("quiet.example", severity="noop"))
        await block_domain(uow.session, BlockRequest("pics.example", severity="noop", reject_media=True))
    response = await client.get(URL)
    assert response.status_code == 200
    shown = {entry["digest"]: entry for entry in response.json()}
    import hashlib

    def digest(domain: str) -> str:
        return hashlib.sha256(domain.encode()).hexdigest()

    assert shown[digest("spam.example")] == {
        "domain": "spam.example",
        "digest": digest("spam.example"),
        "severity": "suspend",
        "comment": "Spam",
    }
    assert shown[digest("hidden.example")]["domain"] == "hidd**.****ple"
    assert shown[digest("hidden.example")]["comment"] is None
    assert shown[digest("pics.example")]["severity"] == "noop"
    assert digest("quiet.example") not in shown
