"""The MediaAttachment entity, in Mastodon's shape.

`url` is null while a file is processing; remote media not (or no longer) cached point at
their origin. `meta` carries only what Mastodon sends: `original` and `small` sizes, `focus`
and, for players, `colors`.
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.media.models import MediaAttachment
from kinfolk.infra.storage import Storage

_META_KEYS = ("original", "small", "colors")


def _meta(media: MediaAttachment) -> dict[str, Any]:
    stored = media.meta or {}
    meta: dict[str, Any] = {key: stored[key] for key in _META_KEYS if stored.get(key)}
    # Focus is shown once set (at upload, by PUT or by a status edit), as Mastodon does.
    if "focus" in stored or media.focus_x or media.focus_y:
        meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return meta


def render_media(storage: Storage, media: MediaAttachment) -> dict[str, Any]:
    remote = media.remote_url or None
    if media.file_key and media.state == "ready":
        url: str | None = storage.url(media.file_key)
    elif remote and not media.file_key:
        url = remote
    else:
        url = None
    preview_key = media.thumbnail_key or media.preview_key
    if preview_key:
        preview: str | None = storage.url(preview_key)
    elif remote and media.type == "image":
        preview = remote
    else:
        preview = None
    stored = media.meta or {}
    return {
        "id": str(media.id),
        "type": media.type if url or media.state == "processing" else "unknown",
        "url": url,
        "preview_url": preview,
        "remote_url": remote,
        "preview_remote_url": stored.get("preview_remote_url"),
        "text_url": None,
        "meta": _meta(media),
        "description": media.description or None,
        "blurhash": media.blurhash,
    }
