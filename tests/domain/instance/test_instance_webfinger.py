"""Which WebFinger resources name which local user, and which are refused (no database needed)."""

from __future__ import annotations

import pytest

from kinfolk.domain.instance.service import webfinger_username
from kinfolk.kernel.errors import BadRequest, NotFound
from kinfolk.kernel.uris import Uris

URIS = Uris("https://kinfolk.test")
ON_PORT = Uris("http://localhost:8000")


@pytest.mark.parametrize(
    ("resource", "username"),
    [
        ("acct:alice@kinfolk.test", "alice"),
        ("ACCT:Alice@KINFOLK.TEST", "Alice"),
        ("alice@kinfolk.test", "alice"),
        ("@alice@kinfolk.test", "alice"),
        ("acct:@alice@kinfolk.test", "alice"),
        (" acct:alice@kinfolk.test ", "alice"),
        ("acct:alice@kinfolk.test.", "alice"),
        ("acct:a.b-c_d@kinfolk.test", "a.b-c_d"),
        ("https://kinfolk.test/users/alice", "alice"),
        ("https://kinfolk.test/users/alice/", "alice"),
        ("http://kinfolk.test/@alice", "alice"),
        ("HTTPS://Kinfolk.Test/@alice", "alice"),
    ],
)
def test_accepted_forms(resource: str, username: str) -> None:
    assert webfinger_username(resource, URIS) == username


def test_domain_with_port() -> None:
    assert webfinger_username("acct:alice@localhost:8000", ON_PORT) == "alice"
    assert webfinger_username("http://localhost:8000/users/alice", ON_PORT) == "alice"
    with pytest.raises(NotFound):
        webfinger_username("acct:alice@localhost:9000", ON_PORT)
    with pytest.raises(NotFound):
        webfinger_username("http://localhost/users/alice", ON_PORT)


@pytest.mark.parametrize(
    "resource",
    [
        None,
        "",
        "   ",
        "alice",
        "acct:alice",
        "acct:@kinfolk.test",
        "acct:alice@",
        "acct:al ice@kinfolk.test",
        "acct:al/ice@kinfolk.test",
        "acct:a@b@kinfolk.test",
        "acct:-alice@kinfolk.test",
        "https://kinfolk.test:notaport/users/alice",
        "mailto:alice",
    ],
)
def test_malformed_is_400(resource: str | None) -> None:
    with pytest.raises(BadRequest):
        webfinger_username(resource, URIS)


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@elsewhere.example",
        "acct:alice@kinfolk.test.evil.example",
        "acct:alice@evil-kinfolk.test",
        "https://elsewhere.example/users/alice",
        "https://kinfolk.test/notes/alice",
        "https://kinfolk.test/users/alice/statuses/1",
        # Not one of our actor URLs (Mastodon answers 404 too): no username has a space.
        "https://kinfolk.test/users/al%20ice",
        "https://kinfolk.test/",
        "https://kinfolk.test@evil.example/users/alice",
        "https://user:pw@kinfolk.test/users/alice",
    ],
)
def test_foreign_or_unknown_is_404(resource: str) -> None:
    with pytest.raises(NotFound):
        webfinger_username(resource, URIS)
