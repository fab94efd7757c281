"""Mastodon pagination: cursor and limit parsing, id windows in SQL, and the `Link` header."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from starlette.requests import Request

from kinfolk.api.paging import (
    ACCOUNTS,
    DOMAIN_BLOCKS,
    STATUSES,
    link_header,
    pagination_headers,
    parse_id,
    parse_limit,
    parse_page,
)
from kinfolk.kernel.errors import BadRequest
from kinfolk.kernel.paging import Page, Paged


def make_request(path: str, query: str = "", host: str = "kinfolk.test") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "server": (host, 443),
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", host.encode())],
    }
    return Request(scope)


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("0", 0),
        ("123", 123),
        (" 42 ", 42),
        (7, 7),
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_parse_id_accepts_numbers_and_blanks(value: object, expected: int | None) -> None:
    assert parse_id(value, "max_id") == expected


@pytest.mark.parametrize(
    "value", ["abc", "12abc", "-1", "1.5", "\u0661\u0662", str(2**63), True, ["1"], {"a": 1}]
)
def test_parse_id_rejects_everything_else_with_400(value: object) -> None:
    with pytest.raises(BadRequest) as info:
        parse_id(value, "max_id")
    assert info.value.status_code == 400
    assert "max_id" in info.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 40),
        ("", 40),
        ("10", 10),
        ("80", 80),
        ("1000", 80),
        (5, 5),
        ("-5", 5),
        ("0", 40),
        ("abc", 40),
        ("15abc", 15),
        (True, 40),
    ],
)
def test_parse_limit_for_accounts(value: object, expected: int) -> None:
    assert parse_limit(value, ACCOUNTS) == expected


def test_limits_for_statuses_and_domain_blocks() -> None:
    assert parse_limit(None, STATUSES) == 20
    assert parse_limit("100", STATUSES) == 40
    assert parse_limit(None, DOMAIN_BLOCKS) == 100
    assert parse_limit("1000", DOMAIN_BLOCKS) == 200


def test_parse_page_reads_every_cursor() -> None:
    page = parse_page({"max_id": "30", "since_id": "10", "min_id": "", "limit": "5"}, STATUSES)
    assert page == Page(limit=5, max_id=30, since_id=10, min_id=None)
    assert not page.forward
    assert parse_page({"min_id": "3"}, ACCOUNTS).forward
    with pytest.raises(BadRequest):
        parse_page({"since_id": "x"}, ACCOUNTS)


# -- windows in SQL -------------------------------------------------------------------------


@pytest.fixture
def numbers() -> Iterator[tuple[object, Table]]:
    engine = create_engine("sqlite://")
    table = Table("numbers", MetaData(), Column("id", Integer, primary_key=True))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i} for i in range(1, 11)])
    yield engine, table
    engine.dispose()


def run(numbers: tuple[object, Table], page: Page) -> list[int]:
    engine, table = numbers
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(page.apply(select(table.c.id), table.c.id)).scalars().all()
    return page.arrange(rows)


def test_windows_are_newest_first(numbers: tuple[object, Table]) -> None:
    assert run(numbers, Page(limit=3)) == [10, 9, 8]
    assert run(numbers, Page(limit=3, max_id=8)) == [7, 6, 5]
    # since_id: the newest above the cursor; min_id: the ones just above it.
    assert run(numbers, Page(limit=3, since_id=2)) == [10, 9, 8]
    assert run(numbers, Page(limit=3, min_id=2)) == [5, 4, 3]
    assert run(numbers, Page(limit=10, min_id=2, max_id=6)) == [5, 4, 3]
    assert run(numbers, Page(limit=2, since_id=4, max_id=8)) == [7, 6]
    assert run(numbers, Page(limit=5, max_id=1)) == []


def test_paged_pairs_items_with_ids() -> None:
    paged = Paged.of([(9, "b"), (7, "a")])
    assert paged.items == ["b", "a"] and paged.ids == [9, 7]
    with pytest.raises(ValueError):
        Paged(items=["a"], ids=[])


# -- Link header ----------------------------------------------------------------------------


def parse_links(value: str) -> dict[str, tuple[str, dict[str, list[str]]]]:
    out = {}
    for part in value.split(", "):
        url_part, rel_part = part.split("; ")
        url = url_part.strip("<>")
        rel = rel_part.split("=", 1)[1].strip('"')
        split = urlsplit(url)
        params: dict[str, list[str]] = {}
        for key, val in parse_qsl(split.query, keep_blank_values=True):
            params.setdefault(key, []).append(val)
        out[rel] = (f"{split.scheme}://{split.netloc}{split.path}", params)
    return out


def test_link_header_keeps_other_params_and_replaces_cursors() -> None:
    value = link_header(
        "https://kinfolk.test/api/v1/timelines/home",
        [("limit", "2"), ("max_id", "99"), ("types[]", "mention"), ("types[]", "follow"), ("min_id", "1")],
        next_max_id=50,
        prev_min_id=60,
    )
    assert value is not None
    assert value.index('rel="next"') < value.index('rel="prev"')
    links = parse_links(value)
    url, params = links["next"]
    assert url == "https://kinfolk.test/api/v1/timelines/home"
    assert params == {"limit": ["2"], "types[]": ["mention", "follow"], "max_id": ["50"]}
    url, params = links["prev"]
    assert params == {"limit": ["2"], "types[]": ["mention", "follow"], "min_id": ["60"]}


def test_link_header_with_nothing_to_link() -> None:
    assert link_header("https://x/y", [], next_max_id=None, prev_min_id=None) is None
    only_prev = link_header("https://x/y", [], next_max_id=None, prev_min_id=3)
    assert only_prev == '<https://x/y?min_id=3>; rel="prev"'


def test_pagination_headers_from_a_request() -> None:
    request = make_request("/api/v1/blocks", "limit=2&since_id=5&q=a%20b")
    page = parse_page(request.query_params, ACCOUNTS)
    # A full page: next and prev, from the last and first pagination ids.
    headers = pagination_headers(request, page, [30, 20], base_url="https://kinfolk.test")
    links = parse_links(headers["Link"])
    assert links["next"] == (
        "https://kinfolk.test/api/v1/blocks",
        {"limit": ["2"], "q": ["a b"], "max_id": ["20"]},
    )
    assert links["prev"] == (
        "https://kinfolk.test/api/v1/blocks",
        {"limit": ["2"], "q": ["a b"], "min_id": ["30"]},
    )
    # A short page has no next; an empty one no header at all.
    origin = "https://kinfolk.test"
    assert set(parse_links(pagination_headers(request, page, [30], base_url=origin)["Link"])) == {"prev"}
    assert pagination_headers(request, page, [], base_url=origin) == {}
    # Timelines may give `next` on any non-empty page.
    short = pagination_headers(request, page, [30], base_url=origin, next_requires_full_page=False)
    assert set(parse_links(short["Link"])) == {"next", "prev"}


def test_pagination_headers_use_the_configured_origin() -> None:
    request = make_request("/api/v1/mutes", "limit=1", host="evil.example")
    headers = pagination_headers(
        request, parse_page(request.query_params, ACCOUNTS), [7], base_url="https://kinfolk.test"
    )
    assert headers["Link"].startswith("<https://kinfolk.test/api/v1/mutes?limit=1&max_id=7>")
    # Without one, the app's configured origin (tests/api/test_hosts.py), never the Host header.
