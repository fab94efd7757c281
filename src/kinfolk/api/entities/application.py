"""Mastodon's Application entity (4.3+ shape), and CredentialApplication with the client secrets."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.oauth.models import Application


def render_application(app: Application, *, vapid_key: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scope_list,
        "redirect_uri": "\n".join(app.redirect_uri_list),
        "redirect_uris": app.redirect_uri_list,
    }
    if vapid_key:
        data["vapid_key"] = vapid_key
    return data


def render_credential_application(app: Application, *, vapid_key: str | None = None) -> dict[str, Any]:
    data = render_application(app, vapid_key=vapid_key)
    data["client_id"] = app.client_id
    data["client_secret"] = app.client_secret
    data["client_secret_expires_at"] = 0
    return data
