"""Every URL the API renders comes from the one scheme (kernel/uris.py): a remote account is
never given a local page, a tag has one URL wherever it appears, and local accounts store their
ids like remote ones do."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import select, update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.repo import acct_key
from kinfolk.runtime import fill_local_addresses


async def _remote(container: Container, username: str, *, url: str | None) -> Account:
    async with container.db.uow() as uow:
        account = Account(
            username=username,
            domain="remote.example",
            acct_key=acct_key(username, "remote.example"),
            uri=f"https://remote.example/ap/actors/{username}",
            url=url,
        )
        uow.session.add(account)
        await uow.session.flush()
        return account


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


async def test_a_remote_account_without_a_page_links_to_its_id(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    zed = await _remote(container, "zed", url=None)
    posted = await client.post(
        "/api/v1/statuses", data={"status": "hi @zed@remote.example and @bob"}, headers=alice.headers
    )
    assert posted.status_code == 200, posted.text
    for body in (posted.json(), (await client.get(f"/api/v1/statuses/{posted.json()['id']}")).json()):
        mentions = {m["acct"]: m["url"] for m in body["mentions"]}
        assert mentions == {"zed@remote.example": zed.uri, "bob": "https://kinfolk.test/@bob"}
        hrefs = _hrefs(body["content"])
        assert zed.uri in hrefs and "https://kinfolk.test/@bob" in hrefs
        assert not any("/@zed" in href for href in hrefs)
    account = (await client.get(f"/api/v1/accounts/{zed.id}")).json()
    assert account["url"] == zed.uri and account["uri"] == zed.uri


async def test_a_remote_account_with_a_page_links_to_it(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    yan = await _remote(container, "yan", url="https://remote.example/profile/yan")
    posted = (
        await client.post(
            "/api/v1/statuses", data={"status": "@yan@remote.example hello"}, headers=alice.headers
        )
    ).json()
    assert posted["mentions"][0]["url"] == yan.url
    assert yan.url in _hrefs(posted["content"])


async def test_one_url_per_tag_in_content_entity_and_status(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    posted = await client.post(
        "/api/v1/statuses", data={"status": "#FooBar and #Café"}, headers=alice.headers
    )
    assert posted.status_code == 200, posted.text
    expected = {"foobar": "https://kinfolk.test/tags/foobar", "café": "https://kinfolk.test/tags/caf%C3%A9"}
    for body in (posted.json(), (await client.get(f"/api/v1/statuses/{posted.json()['id']}")).json()):
        assert {t["name"]: t["url"] for t in body["tags"]} == expected
        assert set(_hrefs(body["content"])) == set(expected.values())
    for name, url in (
        ("FooBar", expected["foobar"]),
        ("fooBAR", expected["foobar"]),
        ("Café", expected["café"]),
    ):
        tag = await client.get(f"/api/v1/tags/{name}")
        assert tag.status_code == 200
        assert tag.json()["url"] == url
    found = await client.get(
        "/api/v2/search", params={"q": "#FooBar", "type": "hashtags"}, headers=alice.headers
    )
    assert [t["url"] for t in found.json()["hashtags"]] == [expected["foobar"]]


async def test_local_accounts_store_their_addresses(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    async with container.db.uow(write=False) as uow:
        account = await uow.session.get(Account, alice.account_id)
        assert account is not None
        assert account.uri == "https://kinfolk.test/users/alice"
        assert account.url == "https://kinfolk.test/@alice"
        assert account.inbox_url == "https://kinfolk.test/users/alice/inbox"
        assert account.outbox_url == "https://kinfolk.test/users/alice/outbox"
        assert account.shared_inbox_url == "https://kinfolk.test/inbox"
        assert account.followers_url == "https://kinfolk.test/users/alice/followers"
    body = (await client.get(f"/api/v1/accounts/{alice.account_id}")).json()
    assert body["uri"] == "https://kinfolk.test/users/alice" and body["url"] == "https://kinfolk.test/@alice"


async def test_addresses_of_older_local_accounts_are_filled_once(
    make_user: Any, container: Container
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _remote(container, "zed", url=None)
    columns = ("uri", "url", "inbox_url", "outbox_url", "shared_inbox_url", "followers_url")
    async with container.db.uow() as uow:  # as accounts made before they stored addresses
        await uow.session.execute(
            update(Account).where(Account.id == alice.account_id).values(**dict.fromkeys(columns))
        )
        remote_without_id = Account(username="bare", domain="remote.example", acct_key="bare@remote.example")
        uow.session.add(remote_without_id)

    assert await fill_local_addresses(container) == 1
    assert await fill_local_addresses(container) == 0  # idempotent

    async with container.db.uow(write=False) as uow:
        rows = {
            a.username: a
            for a in (
                await uow.session.execute(
                    select(Account).where(Account.username.in_(["alice", "bob", "bare"]))
                )
            )
            .scalars()
            .all()
        }
    assert rows["alice"].uri == "https://kinfolk.test/users/alice"
    assert rows["alice"].followers_url == "https://kinfolk.test/users/alice/followers"
    assert rows["bob"].uri == "https://kinfolk.test/users/bob" and bob.account_id == rows["bob"].id
    assert rows["bare"].uri is None  # a remote account is never given one of ours
