"""Which e-mail addresses sign-up takes: what Mastodon's mail parser reads as a bare address."""

from __future__ import annotations

import pytest

from kinfolk.domain.accounts.service import EMAIL_RE


@pytest.mark.parametrize(
    "address",
    [
        "email@localhost12345",
        "admin@localhost",
        "alice@example.com",
        "first.last+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "x@[127.0.0.1]",
        "jürgen@bücher.example",
    ],
)
def test_accepted(address: str) -> None:
    assert EMAIL_RE.match(address)


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "@example.com",
        "alice@",
        "a@@example.com",
        "a b@example.com",
        "alice@exa mple.com",
        ".alice@example.com",
        "alice.@example.com",
        "al..ice@example.com",
        "alice@example..com",
        "alice@-example.com",
        "alice@example.com.",
        "alice@localhost:3000",
        '"quoted"@example.com',
        "Alice <alice@example.com>",
        "alice@example.com\n",
    ],
)
def test_refused(address: str) -> None:
    assert not EMAIL_RE.match(address)
