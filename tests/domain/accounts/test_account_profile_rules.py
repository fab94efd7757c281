"""Profile rules without HTTP: parsing an update, defaults, handles and ids."""

from __future__ import annotations

from typing import Any

import pytest

from kinfolk.domain.accounts.models import User
from kinfolk.domain.accounts.profile import (
    ValidationErrors,
    parse_profile_changes,
    posting_defaults,
    reading_preferences,
)
from kinfolk.domain.accounts.service import parse_account_id, split_acct
from kinfolk.kernel.errors import Unprocessable


def parse(params: dict[str, Any]) -> tuple[Any, ValidationErrors]:
    errors = ValidationErrors()
    return parse_profile_changes(params, errors), errors


def test_nothing_given_changes_nothing() -> None:
    changes, errors = parse({})
    assert not errors
    assert changes.display_name is None and changes.note is None and changes.fields is None
    assert changes.locked is None and changes.settings == {} and changes.attribution_domains is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("off", False),
        ("", None),
        (True, True),
    ],
)
def test_booleans_are_cast_like_rails(value: Any, expected: bool | None) -> None:
    changes, _ = parse({"locked": value})
    assert changes.locked is expected


def test_fields_keep_the_order_given_and_drop_blank_pairs() -> None:
    changes, errors = parse(
        {
            "fields_attributes": {
                "9": {"name": " b ", "value": "2"},
                "1": {"name": "", "value": ""},
                "3": {"name": "a"},
            }
        }
    )
    assert not errors
    assert changes.fields == [("b", "2"), ("a", "")]


def test_malformed_fields_are_errors_not_crashes() -> None:
    _, errors = parse({"fields_attributes": ["just a string", {"name": {"nested": 1}, "value": "v"}]})
    assert "fields" in errors.details


def test_note_newlines_are_normalised() -> None:
    changes, _ = parse({"note": "  a\r\nb\rc  "})
    assert changes.note == "a\nb\nc"


def test_source_settings() -> None:
    changes, errors = parse(
        {"source": {"privacy": "private", "sensitive": "1", "language": "", "quote_policy": "nobody"}}
    )
    assert not errors
    assert changes.settings == {
        "default_privacy": "private",
        "default_sensitive": True,
        "default_language": None,
        "default_quote_policy": "nobody",
    }


def test_errors_raise_one_422_with_every_field() -> None:
    _, errors = parse({"display_name": "x" * 31, "note": "y" * 501, "source": "nope"})
    with pytest.raises(Unprocessable) as caught:
        errors.raise_if_any()
    assert set(caught.value.details or {}) == {"display_name", "note", "source"}
    assert caught.value.message.startswith("Validation failed: Display name is too long")


def test_defaults_tolerate_odd_stored_settings() -> None:
    user = User(
        settings={
            "default_privacy": "bogus",
            "default_sensitive": 1,
            "default_language": 5,
            "expand_media": "show_all",
        }
    )
    posting = posting_defaults(user)
    assert (posting.privacy, posting.sensitive, posting.language, posting.quote_policy) == (
        "public",
        True,
        None,
        "public",
    )
    assert reading_preferences(user).expand_media == "show_all"


@pytest.mark.parametrize(
    ("acct", "expected"),
    [
        ("alice", ("alice", None)),
        ("@alice", ("alice", None)),
        ("alice@Host.Example.", ("alice", "host.example")),
        ("@alice@host:8443", ("alice", "host:8443")),
        ("alice@", ("alice", None)),
    ],
)
def test_split_acct(acct: str, expected: tuple[str, str | None]) -> None:
    assert split_acct(acct) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", None),
        ("0", None),
        ("", None),
        ("١٢", None),
        ("-3", None),
    ],
)
def test_parse_account_id(value: str, expected: int | None) -> None:
    assert parse_account_id(value) == expected


def test_profile_parsing_is_linear_and_refuses_oversized_input() -> None:
    from tests.growth import assert_linear

    def fields(n: int) -> dict[str, Any]:
        return {
            "fields_attributes": {
                str(i): {"name": "n" * 300, "value": "@a https://b.c/ #d " * 20} for i in range(n)
            },
            "note": "@a https://b.c/ #d " * n,
            "display_name": "x" * n,
            "attribution_domains": ["a." * 200 + "com"] * n,
        }

    assert_linear(lambda params: parse(params), fields, base=10)
    _, errors = parse(fields(100))
    assert {"fields", "note", "display_name", "attribution_domains"} <= set(errors.details)
