"""The Suggestion entity (v2): an account and why it is suggested."""

from __future__ import annotations

from typing import Any


def render_suggestion(account: dict[str, Any], sources: tuple[str, ...]) -> dict[str, Any]:
    return {"source": "global", "sources": list(sources), "account": account}
