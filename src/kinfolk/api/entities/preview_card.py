"""The PreviewCard entity (a status's `card`), in Mastodon's shape.

The image is our copy (`domain/cards/fetch.copy_image`), never the page's own: clients would
otherwise tell the linked site who reads the post. A card not fetched yet, or whose page had
nothing to show, is no card (`null`).
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.cards.models import PreviewCard
from kinfolk.infra.storage import Storage
from kinfolk.kernel.clock import iso


def render_card(storage: Storage, card: PreviewCard | None) -> dict[str, Any] | None:
    if card is None or not card.shown:
        return None
    return {
        "url": card.url,
        "title": card.title,
        "description": card.description,
        "language": card.language,
        "type": card.type,
        "author_name": card.author_name,
        "author_url": card.author_url,
        "provider_name": card.provider_name,
        "provider_url": card.provider_url,
        "html": card.html,
        "width": card.width,
        "height": card.height,
        "image": storage.url(card.image_key) if card.image_key else None,
        "image_description": card.image_description,
        "embed_url": card.embed_url,
        "blurhash": card.blurhash,
        "published_at": iso(card.published_at),
        "authors": [{"name": card.author_name, "url": card.author_url, "account": None}],
    }
