"""Offset pagination helpers: lenient parsing, and Mastodon's offset Link header."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from kinfolk.api.offset_paging import MAX_OFFSET, offset_link_header, parse_offset


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 0),
        ("", 0),
        ("7", 7),
        (" 12abc", 12),
        ("-3", 0),
        ("abc", 0),
        (5, 5),
        (True, 0),
        ("٣", 0),
        (1 << 70, MAX_OFFSET),
    ],
)
def test_parse_offset(value: object, expected: int) -> None:
    assert parse_offset(value) == expected


def request(query: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/api/v1/x", "query_string": query.encode(), "headers": []}
    )


def test_links() -> None:
    base = "https://example.test"
    assert offset_link_header(request("limit=2"), base, offset=0, limit=2, has_more=False) == {}
    assert offset_link_header(request("limit=2&other=1"), base, offset=0, limit=2, has_more=True) == {
        "Link": '<https://example.test/api/v1/x?limit=2&offset=2>; rel="next"'
    }
    # Without a limit in the request, the links carry none; prev never goes below 0.
    assert offset_link_header(request("offset=1"), base + "/", offset=1, limit=40, has_more=False) == {
        "Link": '<https://example.test/api/v1/x?offset=0>; rel="prev"'
    }
