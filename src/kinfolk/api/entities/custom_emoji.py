"""Mastodon's CustomEmoji entity, as statuses, accounts and `/api/v1/custom_emojis` show it."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.infra.storage import Storage


def emoji_url(storage: Storage, key: str | None, remote: str | None) -> str | None:
    """Our copy, else the remote picture while it is copied (or if it could not be)."""
    if key:
        return storage.url(key)
    if remote and remote.lower().startswith(("https://", "http://")):
        return remote
    return None


def emoji_json(storage: Storage, emoji: CustomEmoji) -> dict[str, Any]:
    url = emoji_url(storage, emoji.image_key, emoji.image_remote_url) or ""
    static = emoji_url(storage, emoji.image_static_key, None) or url
    return {
        "shortcode": emoji.shortcode,
        "url": url,
        "static_url": static,
        # Remote emojis are never offered in a picker (Mastodon shows only its own there).
        "visible_in_picker": emoji.visible_in_picker and emoji.domain is None,
        "category": None,
    }


def emojis_json(storage: Storage, emojis: list[CustomEmoji]) -> list[dict[str, Any]]:
    """A text's emojis; one without any usable picture is left out."""
    return [body for e in emojis if (body := emoji_json(storage, e))["url"]]
