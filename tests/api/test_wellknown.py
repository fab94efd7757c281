"""WebFinger, host-meta and NodeInfo as other servers and crawlers fetch them."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from kinfolk import __version__
from kinfolk.container import Container
from kinfolk.domain.instance import service as instance_service

JRD = "application/jrd+json"


async def test_webfinger_acct(client: httpx.AsyncClient, make_user: Any) -> None:
    await make_user("alice")
    response = await client.get("/.well-known/webfinger", params={"resource": "acct:alice@kinfolk.test"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(JRD)
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["subject"] == "acct:alice@kinfolk.test"
    assert body["aliases"] == ["https://kinfolk.test/@alice", "https://kinfolk.test/users/alice"]
    links = {link["rel"]: link for link in body["links"]}
    # The actor under both ActivityPub media types: servers look for one or the other.
    assert [link for link in body["links"] if link["rel"] == "self"] == [
        {"rel": "self", "type": "application/activity+json", "href": "https://kinfolk.test/users/alice"},
        {
            "rel": "self",
            "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
            "href": "https://kinfolk.test/users/alice",
        },
    ]
    assert links["http://webfinger.net/rel/profile-page"]["href"] == "https://kinfolk.test/@alice"
    assert links["http://webfinger.net/rel/profile-page"]["type"] == "text/html"
    assert (
        links["http://ostatus.org/schema/1.0/subscribe"]["template"]
        == "https://kinfolk.test/authorize_interaction?uri={uri}"
    )


@pytest.mark.parametrize(
    "resource",
    [
        "acct:ALICE@KINFOLK.TEST",
        "alice@kinfolk.test",
        "acct:@alice@kinfolk.test",
        "https://kinfolk.test/users/alice",
        "https://kinfolk.test/@alice",
        "https://KINFOLK.test/users/Alice/",
    ],
)
async def test_webfinger_other_forms_of_the_same_account(
    resource: str, client: httpx.AsyncClient, make_user: Any
) -> None:
    await make_user("alice")
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 200, resource
    assert response.json()["subject"] == "acct:alice@kinfolk.test"


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (None, 400),
        ("alice", 400),
        ("acct:nobody@kinfolk.test", 404),
        ("acct:alice@elsewhere.example", 404),
        ("https://elsewhere.example/users/alice", 404),
    ],
)
async def test_webfinger_refusals(
    resource: str | None, status: int, client: httpx.AsyncClient, make_user: Any
) -> None:
    """More malformed and foreign forms are covered by tests/domain/instance/test_instance_webfinger.py."""
    await make_user("alice")
    params = {} if resource is None else {"resource": resource}
    response = await client.get("/.well-known/webfinger", params=params)
    assert response.status_code == status, resource
    assert "error" in response.json()
    assert response.headers["access-control-allow-origin"] == "*"


async def test_host_meta(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    root = ET.fromstring(response.text)
    assert root.tag == "{http://docs.oasis-open.org/ns/xri/xrd-1.0}XRD"
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None
    assert link.get("rel") == "lrdd"
    assert link.get("template") == "https://kinfolk.test/.well-known/webfinger?resource={uri}"

    as_json = await client.get("/.well-known/host-meta.json")
    assert as_json.json() == {
        "links": [{"rel": "lrdd", "template": "https://kinfolk.test/.well-known/webfinger?resource={uri}"}]
    }


async def test_nodeinfo_discovery(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": "https://kinfolk.test/nodeinfo/2.0",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "https://kinfolk.test/nodeinfo/2.1",
            },
        ]
    }


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_nodeinfo_documents(
    version: str, client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    response = await client.get(f"/nodeinfo/{version}")
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
    )
    body = response.json()
    assert body["version"] == version
    assert body["software"]["name"] == "kinfolk"
    assert body["software"]["version"] == __version__
    if version == "2.1":
        assert body["software"]["repository"].startswith("https://")
        assert body["software"]["homepage"].startswith("https://")
    else:
        assert set(body["software"]) == {"name", "version"}
    assert body["protocols"] == ["activitypub"]
    assert body["services"] == {"inbound": [], "outbound": []}
    assert body["usage"] == {"users": {"total": 0, "activeMonth": 0, "activeHalfyear": 0}, "localPosts": 0}
    assert body["openRegistrations"] is True
    assert body["metadata"]["nodeName"] == "Kinfolk"

    await make_user("alice")
    await make_user("bob")
    await make_user("waiting", approved=False)
    container.settings.registrations = "approval"
    # The figures are counted at most once a minute per process, as Mastodon caches them.
    body = (await client.get(f"/nodeinfo/{version}")).json()
    assert body["usage"]["users"]["total"] == 0
    cache = instance_service.usage_cache(container.extras)
    cache.clock = lambda: time.monotonic() + instance_service.USAGE_TTL
    body = (await client.get(f"/nodeinfo/{version}")).json()
    assert body["usage"]["users"] == {"total": 2, "activeMonth": 2, "activeHalfyear": 2}
    assert body["openRegistrations"] is False


async def test_unknown_nodeinfo_version(client: httpx.AsyncClient) -> None:
    assert (await client.get("/nodeinfo/3.0")).status_code == 404


async def test_webfinger_links_the_avatar_when_there_is_one(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    from sqlalchemy import update

    from kinfolk.domain.accounts.models import Account

    alice = await make_user("alice")
    params = {"resource": "acct:alice@kinfolk.test"}
    rels = [
        link["rel"] for link in (await client.get("/.well-known/webfinger", params=params)).json()["links"]
    ]
    assert "http://webfinger.net/rel/avatar" not in rels
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == alice.account_id).values(avatar_key="avatars/ab/cd.png")
        )
    links = (await client.get("/.well-known/webfinger", params=params)).json()["links"]
    avatar = next(link for link in links if link["rel"] == "http://webfinger.net/rel/avatar")
    assert avatar == {
        "rel": "http://webfinger.net/rel/avatar",
        "type": "image/png",
        "href": "https://kinfolk.test/media/avatars/ab/cd.png",
    }
