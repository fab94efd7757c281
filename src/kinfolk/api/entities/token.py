"""Mastodon's Token entity, the body of a successful POST /oauth/token."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.oauth.service import IssuedToken


def render_token(issued: IssuedToken) -> dict[str, Any]:
    row = issued.row
    # `scope` repeats exactly what was granted: Mastodon.py refuses a token missing a requested scope.
    data: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": row.scopes,
        "created_at": int(row.created_at.timestamp()),
    }
    if issued.refresh_token:
        data["refresh_token"] = issued.refresh_token
    if row.expires_at is not None:
        data["expires_in"] = max(0, int((row.expires_at - row.created_at).total_seconds()))
    return data
