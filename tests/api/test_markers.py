"""Read markers: saved per timeline, versioned, private to their owner."""

from __future__ import annotations

MARKERS = "/api/v1/markers"


async def test_markers_save_and_read_back(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    assert (await client.get(MARKERS, params={"timeline[]": ["home"]}, headers=alice.headers)).json() == {}

    saved = await client.post(
        MARKERS, data={"home[last_read_id]": "103194548672408537"}, headers=alice.headers
    )
    assert saved.status_code == 200, saved.text
    home = saved.json()["home"]
    assert home["last_read_id"] == "103194548672408537" and home["version"] == 0
    assert home["updated_at"].endswith("Z")
    assert list(saved.json()) == ["home"]

    both = await client.post(
        MARKERS,
        json={"home": {"last_read_id": "103194548672408600"}, "notifications": {"last_read_id": "5"}},
        headers=alice.headers,
    )
    assert both.json()["home"]["version"] == 1 and both.json()["notifications"]["version"] == 0
    # The same position again changes nothing.
    again = await client.post(
        MARKERS, data={"home[last_read_id]": "103194548672408600"}, headers=alice.headers
    )
    assert again.json()["home"]["version"] == 1

    read = await client.get(
        MARKERS, params={"timeline[]": ["home", "notifications", "bogus"]}, headers=alice.headers
    )
    assert read.json() == {"home": again.json()["home"], "notifications": both.json()["notifications"]}
    assert list(
        (await client.get(MARKERS, params={"timeline": "notifications"}, headers=alice.headers)).json()
    ) == ["notifications"]

    bob = await make_user("bob")
    assert (await client.get(MARKERS, params={"timeline[]": ["home"]}, headers=bob.headers)).json() == {}


async def test_markers_reject_bad_input_and_tokens(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bad = await client.post(MARKERS, data={"home[last_read_id]": "abc"}, headers=alice.headers)
    assert bad.status_code == 422
    assert (await client.get(MARKERS, params={"timeline[]": ["home"]}, headers=alice.headers)).json() == {}
    ignored = await client.post(MARKERS, data={"other[last_read_id]": "1"}, headers=alice.headers)
    assert ignored.status_code == 200 and ignored.json() == {}
    assert (await client.get(MARKERS)).status_code == 401
    reader = await make_user("reader", scopes="read")
    assert (
        await client.post(MARKERS, data={"home[last_read_id]": "1"}, headers=reader.headers)
    ).status_code == 403
