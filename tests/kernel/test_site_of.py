"""Sites: the registrable domain a host name is counted under by budgets (`kernel/hosts.py`)."""

from __future__ import annotations

import pytest

from kinfolk.kernel.hosts import bare_host, site_of


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("mastodon.social", "mastodon.social"),
        ("a1.evil.example", "evil.example"),
        ("x.y.z.evil.example:8443", "evil.example"),
        ("Deep.Sub.EVIL.example.", "evil.example"),
        ("s1.example.co.uk", "example.co.uk"),
        ("a.b.example.com.au", "example.com.au"),
        ("www.co.example", "co.example"),
        ("localhost", "localhost"),
        ("192.0.2.1:8080", "192.0.2.1"),
        ("[2001:db8::1]:443", "[2001:db8::1]"),
    ],
)
def test_site_of(host: str, site: str) -> None:
    assert site_of(host) == site


def test_bare_host() -> None:
    assert bare_host(" Example.COM.:443 ") == "example.com"
    assert bare_host("[::1]:80") == "[::1]"
