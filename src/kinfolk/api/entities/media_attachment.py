"""The MediaAttachment entity."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.media.models import MediaAttachment
from kinfolk.infra.storage import Storage


def render_media(storage: Storage, media: MediaAttachment) -> dict[str, Any]:
    url = storage.url(media.file_key) if media.file_key else None
    preview = storage.url(media.preview_key) if media.preview_key else url
    meta = dict(media.meta or {})
    if media.type in ("image", "gifv", "video"):
        meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": media.type,
        "url": url if media.state != "processing" else None,
        "preview_url": preview,
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
    }
