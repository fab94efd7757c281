"""Regressions for the 500s `make fuzz` found: each class of input that once raised inside a
handler now gets Mastodon's answer, an `{"error": ...}` 4xx (or an empty result), never a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kinfolk.api.http import id_value, parse_datetime
from kinfolk.kernel.errors import Unprocessable

HUGE = "99999999999999999999999"
UNICODE_DIGITS = ("²", "١٢", "٣")


def _ok(response: httpx.Response) -> None:
    """Below 500; an error is Mastodon's JSON."""
    assert response.status_code < 500, (response.request.url, response.text)
    if response.status_code >= 400:
        assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (12, 12),
        (" 7 ", 7),
        (str((1 << 63) - 1), (1 << 63) - 1),
        (str(1 << 63), None),
        (HUGE, None),
        ("-1", None),
        (-1, None),
        ("²", None),
        ("١٢", None),
        ("1e3", None),
        (True, None),
        (1.0, None),
        (None, None),
        ([], None),
        ({"a": 1}, None),
    ],
)
def test_id_value_takes_only_ids_a_database_can_bind(value: Any, expected: int | None) -> None:
    assert id_value(value) == expected


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-13-45", "now", "1" * 100, 3, ["x"]],
)
def test_parse_datetime_refuses_what_is_no_time_in_utc(value: Any) -> None:
    with pytest.raises(Unprocessable):
        parse_datetime(value, "Validation failed: Scheduled at is invalid")


def test_parse_datetime_reads_offsets_and_naive_times_as_utc() -> None:
    assert parse_datetime("9999-12-31T23:59:59+14:00", "x") == datetime(9999, 12, 31, 9, 59, 59, tzinfo=UTC)
    assert parse_datetime("2030-01-01T00:00:00", "x") == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_datetime("2030-01-01T00:00:00Z", "x") == datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_datetime("", "x") is None


async def test_ids_beyond_64_bits_and_unicode_digits_are_not_found(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    h = alice.headers
    many = await client.get("/api/v1/statuses", params=[("id[]", HUGE), ("id[]", "²")], headers=h)
    assert many.status_code == 200 and many.json() == []
    for digits in UNICODE_DIGITS:
        for method, path in (
            ("GET", f"/api/v1/accounts/{digits}/statuses"),
            ("PUT", f"/api/v1/statuses/{digits}"),
            ("GET", f"/api/v1/statuses/{digits}"),
            ("POST", f"/api/v1/accounts/{digits}/follow"),
            ("GET", f"/api/v2/notifications/ungrouped-{digits}"),
        ):
            response = await client.request(method, path, headers=h)
            assert response.status_code == 404, (path, response.text)
    for method, path, kwargs in (
        ("GET", "/api/v1/notifications", {"params": {"account_id": "²"}}),
        ("GET", "/api/v1/notifications", {"params": [("exclude_types[]", "mention"), ("account_id", HUGE)]}),
        ("POST", "/api/v1/reports", {"json": {"account_id": "²", "status_ids": ["²"]}}),
        ("GET", "/api/v1/trends/statuses", {"params": {"offset": "²"}}),
        ("GET", "/api/v2/search", {"params": {"q": "x", "offset": "١٢"}}),
        ("POST", "/api/v2/filters", {"json": {"title": "t", "context": ["home"], "expires_in": "²"}}),
    ):
        _ok(await client.request(method, path, headers=h, **kwargs))


async def test_poll_choices_in_unicode_digits_are_invalid(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    posted = await client.post(
        "/api/v1/statuses",
        json={"status": "p", "poll": {"options": ["a", "b"], "expires_in": 3600}},
        headers=alice.headers,
    )
    url = f"/api/v1/polls/{posted.json()['poll']['id']}/votes"
    for choices in (["²"], ["-²"], [HUGE], [{"a": 1}], [None]):
        response = await client.post(url, json={"choices": choices}, headers=bob.headers)
        assert response.status_code == 422, (choices, response.text)
    assert (await client.get(url.removesuffix("/votes"), headers=bob.headers)).json()["votes_count"] == 0


async def test_times_outside_the_utc_calendar_are_422(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    h = alice.headers
    for when in ("9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00Z", "10000-01-01", 12345, {"a": 1}):
        response = await client.post(
            "/api/v1/statuses", json={"status": "x", "scheduled_at": when}, headers=h
        )
        assert response.status_code == 422, (when, response.text)
    assert (await client.get("/api/v1/scheduled_statuses", headers=h)).json() == []
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    created = await client.post("/api/v1/statuses", json={"status": "x", "scheduled_at": later}, headers=h)
    moved = await client.put(
        f"/api/v1/scheduled_statuses/{created.json()['id']}",
        json={"scheduled_at": "9999-12-31T23:59:59-14:00"},
        headers=h,
    )
    assert moved.status_code == 422
    # The far edge that is still a time in UTC is taken, as Mastodon takes any future time.
    far = await client.post(
        "/api/v1/statuses", json={"status": "x", "scheduled_at": "9999-12-31T23:59:59+14:00"}, headers=h
    )
    assert far.status_code == 200 and far.json()["scheduled_at"] == "9999-12-31T09:59:59.000Z"


async def test_search_date_operators_at_the_calendars_edges(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    await client.post("/api/v1/statuses", json={"status": "needle"}, headers=alice.headers)
    for operator in ("during:9999-12-31", "after:9999-12-31", "before:0001-01-01", "during:0001-01-01"):
        response = await client.get(
            "/api/v2/search", params={"q": f"needle {operator}", "type": "statuses"}, headers=alice.headers
        )
        assert response.status_code == 200, (operator, response.text)
        assert response.json()["statuses"] == []


async def test_streaming_a_list_named_in_unicode_digits_is_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    for list_id in ("²", HUGE, "-1"):
        response = await client.get("/api/v1/streaming/list", params={"list": list_id}, headers=alice.headers)
        assert response.status_code == 401, (list_id, response.text)
        assert isinstance(response.json()["error"], str)


async def test_strings_longer_than_their_columns(client, make_user) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a value wider than its varchar column raised: a 300-character hashtag (it stays
    text, as a tag cannot be that long) and a 400-character Idempotency-Key (kept as its digest)."""
    alice = await make_user("alice")
    tagged = await client.post(
        "/api/v1/statuses", json={"status": "#" + "a" * 300 + " #short"}, headers=alice.headers
    )
    assert tagged.status_code == 200, tagged.text
    assert [t["name"] for t in tagged.json()["tags"]] == ["short"]
    headers = {**alice.headers, "Idempotency-Key": "k" * 400}
    first = await client.post("/api/v1/statuses", json={"status": "once"}, headers=headers)
    again = await client.post("/api/v1/statuses", json={"status": "once"}, headers=headers)
    assert first.status_code == 200, first.text
    assert again.json()["id"] == first.json()["id"]
    other = {**alice.headers, "Idempotency-Key": "k" * 399 + "j"}
    assert (await client.post("/api/v1/statuses", json={"status": "x"}, headers=other)).json()[
        "id"
    ] != first.json()["id"]


async def test_null_characters_are_refused_on_every_database(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store U+0000 and answered 500 wherever one reached it; parameters holding
    one are refused up front, and the rest (path segments, query strings that handlers read
    themselves) end as a 422 from the database's data error, not a 500."""
    from sqlalchemy import func, select

    from kinfolk.domain.statuses.models import Status

    alice = await make_user("alice")
    h = alice.headers
    for method, path, kwargs in (
        ("POST", "/api/v1/statuses", {"json": {"status": "a\x00b"}}),
        ("POST", "/api/v1/statuses", {"data": {"status": "x", "spoiler_text": "a\x00b"}}),
        ("POST", "/api/v1/lists", {"json": {"title": "a\x00b"}}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"json": {"display_name": "a\x00b"}}),
        (
            "POST",
            "/api/v2/filters",
            {"json": {"title": "t", "context": ["home"], "keywords_attributes": [{"keyword": "\x00"}]}},
        ),
        (
            "POST",
            "/api/v1/apps",
            {"json": {"client_name": "a\x00b", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}},
        ),
    ):
        response = await client.request(method, path, headers=h, **kwargs)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"] == "Validation failed: Parameters can't contain a null character"
    for method, path, kwargs in (
        ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "a\x00b"}}),
        ("GET", "/api/v1/accounts/search", {"params": {"q": "a\x00b"}}),
        ("GET", "/api/v1/timelines/tag/a%00b", {}),
        ("GET", "/api/v2/notifications/a%00b", {}),
        (
            "GET",
            "/oauth/authorize",
            {"params": {"client_id": "a\x00b", "redirect_uri": "x", "response_type": "code"}},
        ),
        ("POST", "/oauth/revoke", {"data": {"token": "a\x00b", "client_id": "a\x00b", "client_secret": "x"}}),
    ):
        response = await client.request(method, path, headers=h, **kwargs)
        assert response.status_code < 500, (path, response.text)  # 4xx on PostgreSQL, may be 2xx on SQLite
        if response.status_code >= 400 and path.startswith("/api/"):
            assert isinstance(response.json()["error"], str)
    async with container.db.uow(write=False) as uow:
        assert (await uow.session.execute(select(func.count()).select_from(Status))).scalar_one() == 0


def test_out_of_range_input_errors_are_the_clients() -> None:
    from kinfolk.api.errors import is_input_out_of_range

    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    class Wrapped(Exception):
        def __init__(self, orig: Exception) -> None:
            self.orig = orig

    assert is_input_out_of_range(OverflowError("date value out of range"))
    assert is_input_out_of_range(Wrapped(PgError("22021")))  # a NUL character
    assert is_input_out_of_range(Wrapped(PgError("22001")))  # wider than its column
    assert not is_input_out_of_range(Wrapped(PgError("23505")))  # a unique violation is ours
    assert not is_input_out_of_range(ValueError("x"))
