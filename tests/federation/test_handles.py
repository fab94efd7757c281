"""The handle a remote actor is stored under, found by WebFinger as Mastodon does: the actor's
host is asked for `preferredUsername@host`; another domain named in its answer is believed only
when that domain's own WebFinger points back to the same actor (split-domain servers). Two
names on one local server (remote.test serves the actors, other.test is the handle domain)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.federation import dereference
from kinfolk.federation.parse.actor import parse_actor
from tests.federation import remote_fixtures
from tests.federation.remote_docs import AP, FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings


def _webfinger(remote: FakeRemote, asked: str, subject: str, actor: str) -> str:
    """Make `asked`'s WebFinger answer for `acct:subject` name `actor`; returns its URL."""
    host = asked.split("@", 1)[1]
    url = f"http://{host}/.well-known/webfinger?resource=acct:{asked}"
    remote.docs[url] = {"subject": f"acct:{subject}", "links": [{"rel": "self", "type": AP, "href": actor}]}
    return url


def _split(remote: FakeRemote, username: str, handle_domain: str) -> tuple[str, str]:
    """An actor on remote.test whose WebFinger there names `username@handle_domain`."""
    uri = remote.actor(username)
    on_host = f"{username}@remote.test:{remote.port}"
    return uri, _webfinger(remote, on_host, f"{username}@{handle_domain}", uri)


def _webfinger_hits(remote: FakeRemote) -> int:
    return sum(n for url, n in remote.hits.items() if "/.well-known/webfinger" in url)


async def _count(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Account))).scalar_one())


async def test_a_split_domain_actor_gets_the_confirmed_handle(
    container: Container, remote: FakeRemote
) -> None:
    other = f"other.test:{remote.port}"
    uri, _ = _split(remote, "bob", other)
    _webfinger(remote, f"bob@{other}", f"bob@{other}", uri)
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and (account.username, account.domain) == ("bob", other)
    assert _webfinger_hits(remote) == 2
    # Fresh: neither the actor nor WebFinger is asked again.
    assert await dereference.fetch_actor(container, uri) is not None
    assert _webfinger_hits(remote) == 2 and remote.hits[uri] == 1
    # A later refresh that cannot reach WebFinger keeps the handle checked before, as does an
    # Update (stored without any check).
    for url in [u for u in remote.docs if "/.well-known/webfinger" in u]:
        del remote.docs[url]
    refreshed = await dereference.fetch_actor(container, uri, refresh=True)
    assert refreshed is not None and refreshed.domain == other
    updated = await dereference.store_actor(container, parse_actor(remote.docs[uri]))
    assert updated is not None and updated.domain == other and await _count(container) == 1


async def test_a_lying_handle_domain_keeps_the_actors_host(container: Container, remote: FakeRemote) -> None:
    other = f"other.test:{remote.port}"
    uri, _ = _split(remote, "bob", other)
    # other.test answers for bob@other.test with another actor: the claim is not believed.
    _webfinger(remote, f"bob@{other}", f"bob@{other}", remote.actor("impostor"))
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and (account.username, account.domain) == ("bob", f"remote.test:{remote.port}")
    assert _webfinger_hits(remote) == 2


async def test_a_handle_domain_that_redirects_again_keeps_the_host(
    container: Container, remote: FakeRemote
) -> None:
    other = f"other.test:{remote.port}"
    uri, _ = _split(remote, "bob", other)
    _webfinger(remote, f"bob@{other}", f"bob@remote.test:{remote.port}", uri)
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and account.domain == f"remote.test:{remote.port}"
    assert _webfinger_hits(remote) == 2


async def test_webfinger_down_keeps_the_host(container: Container, remote: FakeRemote) -> None:
    # The handle domain is unreachable (nothing listens on port 9).
    uri, _ = _split(remote, "bob", "other.test:9")
    account = await dereference.fetch_actor(container, uri)
    assert account is not None and account.domain == f"remote.test:{remote.port}"
    # The actor's host has no WebFinger at all.
    carol = remote.actor("carol")
    del remote.docs[f"{remote.origin()}/.well-known/webfinger?resource=acct:carol@remote.test:{remote.port}"]
    account = await dereference.fetch_actor(container, carol)
    assert account is not None and account.domain == f"remote.test:{remote.port}"


async def test_a_handle_on_a_suspended_domain_refuses_the_actor(
    container: Container, remote: FakeRemote
) -> None:
    uri, _ = _split(remote, "bob", f"other.test:{remote.port}")
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("other.test", severity="suspend"))
    assert await dereference.fetch_actor(container, uri) is None
    assert await _count(container) == 0
    assert (
        remote.hits[
            f"http://other.test:{remote.port}/.well-known/webfinger?resource=acct:bob@other.test:{remote.port}"
        ]
        == 0
    )


async def test_a_block_of_the_actors_host_covers_its_split_domain_accounts(
    container: Container, remote: FakeRemote
) -> None:
    other = f"other.test:{remote.port}"
    uri, _ = _split(remote, "bob", other)
    _webfinger(remote, f"bob@{other}", f"bob@{other}", uri)
    assert (account := await dereference.fetch_actor(container, uri)) is not None and account.domain == other
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("remote.test", severity="silence"))
    async with container.db.uow(write=False) as uow:
        row = (await uow.session.execute(select(Account).where(Account.uri == uri))).scalar_one()
    assert row.silenced_at is not None


async def test_searching_the_handle_domain_finds_the_split_account(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    alice = await make_user("alice")
    other = f"other.test:{remote.port}"
    uri, _ = _split(remote, "bob", other)
    _webfinger(remote, f"bob@{other}", f"bob@{other}", uri)
    response = await client.get(
        "/api/v2/search", params={"q": f"@bob@{other}", "resolve": "true"}, headers=alice.headers
    )
    assert [(a["acct"], a["uri"]) for a in response.json()["accounts"]] == [(f"bob@{other}", uri)]
    # other.test once (the search), remote.test once (the check); other.test's answer is reused.
    assert _webfinger_hits(remote) == 2


async def test_a_domain_claiming_someone_elses_actor_is_not_believed(
    client: httpx.AsyncClient, make_user: Any, remote: FakeRemote
) -> None:
    """other.test says its bob is remote.test's bob, which remote.test does not confirm."""
    alice = await make_user("alice")
    uri = remote.actor("bob")
    other = f"other.test:{remote.port}"
    _webfinger(remote, f"bob@{other}", f"bob@{other}", uri)
    response = await client.get(
        "/api/v2/search", params={"q": f"@bob@{other}", "resolve": "true"}, headers=alice.headers
    )
    assert [a["acct"] for a in response.json()["accounts"]] == [f"bob@remote.test:{remote.port}"]
