"""What an unsigned fetch may read: public and unlisted statuses only, as a missing id otherwise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.federation.helpers import ap_get, ap_json, post


@pytest.mark.parametrize("visibility", ["private", "direct"])
async def test_private_and_direct_statuses_are_missing(
    visibility: str, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    status = await post(client, alice, status="secret @bob", visibility=visibility)
    sid = status["id"]
    for path in (
        f"/users/alice/statuses/{sid}",
        f"/@alice/{sid}",
        f"/users/alice/statuses/{sid}/activity",
        f"/users/alice/statuses/{sid}/replies",
    ):
        for accept in ("application/activity+json", "text/html"):
            response = await ap_get(client, path, accept)
            assert response.status_code == 404, (path, accept)
            assert "secret" not in response.text


async def test_unlisted_status_is_readable(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    status = await post(client, alice, status="quiet", visibility="unlisted")
    note = await ap_json(client, f"/users/alice/statuses/{status['id']}")
    assert note["to"] == ["https://kinfolk.test/users/alice/followers"]


async def test_deleted_and_foreign_and_malformed_ids_are_missing(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    status = await post(client, alice, status="soon gone")
    sid = status["id"]
    # Under another author's name.
    assert (await ap_get(client, f"/users/bob/statuses/{sid}")).status_code == 404
    for bad in ("abc", "99999999999999999999999", "-1"):
        assert (await ap_get(client, f"/users/alice/statuses/{bad}")).status_code == 404
    deleted = await client.delete(f"/api/v1/statuses/{sid}", headers=alice.headers)
    assert deleted.status_code == 200
    assert (await ap_get(client, f"/users/alice/statuses/{sid}")).status_code == 404
    assert (await ap_get(client, f"/users/alice/statuses/{sid}/activity")).status_code == 404


async def test_unknown_user_is_missing(client: httpx.AsyncClient) -> None:
    for path in ("/users/nobody", "/@nobody", "/users/nobody/statuses/1", "/users/nobody/following"):
        for accept in ("application/activity+json", "text/html"):
            assert (await ap_get(client, path, accept)).status_code == 404
