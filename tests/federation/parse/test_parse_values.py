"""The readers under every parser: URLs and origins (checklist 42, 43), ids, text, dates, types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kinfolk.federation.parse.values import (
    PUBLIC,
    as_list,
    count,
    datetime_value,
    first_id,
    host,
    https_url,
    ids,
    link_url,
    origin,
    same_origin,
    text,
    types,
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://a.example/users/bob", "https://a.example/users/bob"),
        ("https://A.EXAMPLE/users/Bob", "https://a.example/users/Bob"),
        ("HTTPS://a.example./x?y=1#key", "https://a.example/x?y=1#key"),
        ("https://EXAMPLE.com./", "https://example.com/"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://BÜCHER.example/x", "https://xn--bcher-kva.example/x"),
        ("https://a.example:443/x", "https://a.example/x"),
        ("http://a.example:80/x", "http://a.example/x"),
        ("https://a.example:8443/x", "https://a.example:8443/x"),
        ("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
        ("http://127.0.0.1:8000/inbox", "http://127.0.0.1:8000/inbox"),
    ],
)
def test_urls_are_normalised(raw: str, normal: str) -> None:
    assert https_url(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "JavaScript://a.example/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://a.example/x",
        "gopher://a.example/",
        "https://a.example@b.example/",
        "https://user:pass@a.example/",
        "https://a.example\\@b.example/",
        "https://a.example\\b.example/",
        "https:///path",
        "https://",
        "https://a .example/",
        "https://a.example/\nx",
        "https://a.example:99999/",
        "https://a.example:8o/",
        "https://-a.example/",
        "https://a..example/",
        "https://a.example%2F@b/",
        "https://[::1/",
        "//a.example/x",
        "/tags/x",
        "a.example",
        "",
        "https://a.example/" + "x" * 3000,
    ],
)
def test_unsafe_or_unusable_urls_are_refused(raw: str) -> None:
    assert https_url(raw) is None


@pytest.mark.parametrize(
    "value", [None, 1, 1.5, True, [], {}, ["https://a.example/"], {"id": "https://a.example/"}]
)
def test_non_strings_are_not_urls(value: object) -> None:
    assert https_url(value) is None


def test_a_lookalike_host_stays_distinct_from_the_real_one() -> None:
    cyrillic = "https://ex\u0430mple.com/users/bob"  # U+0430, CYRILLIC SMALL LETTER A
    assert https_url(cyrillic) == "https://xn--exmple-4nf.com/users/bob"
    assert not same_origin(cyrillic, "https://example.com/")


def test_origins_compare_normalised_hosts() -> None:
    assert same_origin("https://A.Example./users/x", "https://a.example/inbox")
    assert same_origin("https://a.example:443/x", "https://a.example/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example/x", "https://b.a.example/x")
    assert not same_origin("https://victim.example.attacker.example/", "https://victim.example/")
    assert not same_origin("https://victim.example@attacker.example/", "https://attacker.example/")
    assert not same_origin("javascript:x", "javascript:x")
    assert origin("https://A.example:8443/x?y") == "https://a.example:8443"
    assert host("https://A.example:8443/x?y") == "a.example:8443"


def test_ids_take_strings_objects_and_arrays_of_either() -> None:
    assert ids("https://a.example/1") == ["https://a.example/1"]
    assert ids({"id": "https://a.example/1", "type": "Person"}) == ["https://a.example/1"]
    assert ids({"type": "Link", "href": "https://a.example/1"}) == ["https://a.example/1"]
    assert ids(
        ["https://a.example/1", {"id": "https://a.example/2"}, None, 3, "javascript:x", "https://a.example/1"]
    ) == ["https://a.example/1", "https://a.example/2"]
    assert ids(None) == []
    assert ids({"id": {"id": "https://a.example/nested"}}) == []
    assert first_id([None, {"id": 5}, {"id": "https://a.example/3"}]) == "https://a.example/3"


@pytest.mark.parametrize("spelling", [PUBLIC, "as:Public", "Public"])
def test_the_public_collection_has_one_spelling(spelling: str) -> None:
    assert ids(spelling) == [PUBLIC]
    assert ids([spelling, "https://a.example/followers"]) == [PUBLIC, "https://a.example/followers"]


def test_lists_are_read_up_to_their_cap() -> None:
    assert as_list(None) == []
    assert as_list("x") == ["x"]
    assert as_list(list(range(1000)), 10) == list(range(10))
    assert len(ids([f"https://a.example/{n}" for n in range(10_000)])) == 100


def test_text_takes_strings_and_language_maps() -> None:
    assert text("hello") == "hello"
    assert text({"en": "hello", "de": "hallo"}) == "hello"
    assert text({"en": None, "de": "hallo"}) == "hallo"
    assert text(None) is None
    assert text(["hello"]) is None
    assert text(7) is None
    assert text("x" * 50, 10) == "x" * 10


def test_link_urls_prefer_html_and_never_recurse_deeply() -> None:
    links = [
        {"type": "Link", "mediaType": "video/mp4", "href": "https://a.example/v.mp4"},
        {"type": "Link", "mediaType": "text/html", "href": "https://a.example/watch"},
    ]
    assert link_url(links) == "https://a.example/watch"
    assert link_url({"type": "Image", "url": "https://a.example/i.png"}) == "https://a.example/i.png"
    assert link_url({"type": "Image", "url": "javascript:alert(1)"}) is None
    deep: object = "https://a.example/deep"
    for _ in range(5_000):
        deep = {"url": deep}
    assert link_url(deep) is None


def test_types_are_a_string_or_a_list_with_prefixes_removed() -> None:
    assert types({"type": "Note"}) == ["Note"]
    assert types({"type": ["as:Note", "https://www.w3.org/ns/activitystreams#Article", 3]}) == [
        "Note",
        "Article",
    ]
    assert types({"type": []}) == []
    assert types({}) == []


def test_dates_and_counts() -> None:
    assert datetime_value("2024-10-14T16:57:15Z") == datetime(2024, 10, 14, 16, 57, 15, tzinfo=UTC)
    assert datetime_value("2019-09-19T00:32:36.785333") == datetime(
        2019, 9, 19, 0, 32, 36, 785333, tzinfo=UTC
    )
    assert datetime_value("2024-10-14T18:57:15+02:00") == datetime(2024, 10, 14, 16, 57, 15, tzinfo=UTC)
    assert datetime_value("yesterday") is None
    assert datetime_value(1700000000) is None
    assert datetime_value("9" * 100) is None
    assert count(4) == 4
    assert count(4.0) == 4
    assert count(-1) is None
    assert count(True) is None
    assert count("4") is None


def test_text_is_made_fit_for_every_database() -> None:
    assert text("a\x00b") == "ab"
    assert text("a\ud800b") == "a\ufffdb"
    assert text({"en": "x\x00"}) == "x"
