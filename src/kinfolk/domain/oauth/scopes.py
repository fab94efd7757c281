"""Mastodon's OAuth scopes: hierarchical (`read` covers `read:statuses`), plus the legacy `follow`."""

from __future__ import annotations

from collections.abc import Iterable

READ_SCOPES = (
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:collections",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
)
WRITE_SCOPES = (
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:collections",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
)
ADMIN_READ_SCOPES = (
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
)
ADMIN_WRITE_SCOPES = (
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
)
FOLLOW_SCOPES = ("read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes")

TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
ALL_SCOPES: frozenset[str] = frozenset(
    (*TOP_LEVEL, *READ_SCOPES, *WRITE_SCOPES, *ADMIN_READ_SCOPES, *ADMIN_WRITE_SCOPES)
)


def parse_scopes(value: str | Iterable[str] | None, default: str = "read") -> list[str]:
    """Split on spaces or `+` (query strings), keep order, drop duplicates."""
    if value is None:
        value = default
    parts = (
        value.replace("+", " ").split()
        if isinstance(value, str)
        else [p for item in value for p in str(item).replace("+", " ").split()]
    )
    seen: dict[str, None] = {}
    for part in parts or default.split():
        seen.setdefault(part, None)
    return list(seen)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in ALL_SCOPES]


def covers(granted: Iterable[str], required: str) -> bool:
    """Does a token with `granted` scopes satisfy `required`?"""
    granted_set = set(granted)
    if required in granted_set:
        return True
    # read:statuses is covered by read; admin:read:accounts by admin:read.
    if ":" in required:
        parent = required.rsplit(":", 1)[0]
        if parent in granted_set and parent != "admin":
            return True
    return "follow" in granted_set and required in FOLLOW_SCOPES


def is_subset(requested: Iterable[str], allowed: Iterable[str]) -> bool:
    """Every requested scope is within what the application registered."""
    allowed_list = list(allowed)
    return all(covers(allowed_list, scope) for scope in requested)
