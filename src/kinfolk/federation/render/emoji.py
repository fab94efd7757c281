"""`Emoji` tags for the custom emojis a local Note or actor uses (Mastodon's shape)."""

from __future__ import annotations

import mimetypes
from typing import Any

from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.federation.render.env import RenderEnv, ap_time


def emoji_tag(env: RenderEnv, emoji: CustomEmoji) -> dict[str, Any] | None:
    """The tag, or None for an emoji without a picture to point at."""
    url = env.media_url(emoji.image_key) if emoji.image_key else emoji.image_remote_url
    if not url:
        return None
    return {
        "id": emoji.uri or env.uris.emoji(emoji.id),
        "type": "Emoji",
        "name": f":{emoji.shortcode}:",
        "updated": ap_time(emoji.image_updated_at or emoji.updated_at),
        "icon": {
            "type": "Image",
            "mediaType": mimetypes.guess_type(url)[0] or "image/png",
            "url": url,
        },
    }


def emoji_tags(env: RenderEnv, emojis: list[CustomEmoji]) -> list[dict[str, Any]]:
    return [tag for e in emojis if (tag := emoji_tag(env, e)) is not None]
