"""Trending links, shaped as Mastodon's PreviewCard (with usage history).

No card is fetched for a link yet, so the title is the link's host and the rest is empty.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kinfolk.domain.trends.service import TrendingLink


def render_trending_link(link: TrendingLink) -> dict[str, Any]:
    host = urlsplit(link.url).hostname or link.url
    return {
        "url": link.url,
        "title": host,
        "description": "",
        "language": None,
        "type": "link",
        "author_name": "",
        "author_url": "",
        "authors": [],
        "provider_name": host,
        "provider_url": "",
        "html": "",
        "width": 0,
        "height": 0,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "history": link.history,
    }
