"""The Tag and FeaturedTag entities."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.tags.service import FeaturedView, TagView
from kinfolk.kernel.uris import Uris


def render_tag(view: TagView, uris: Uris) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(view.tag.id) if view.tag is not None else "",
        "name": view.name,
        "url": uris.tag(view.tag.name if view.tag is not None else view.name),
        "history": view.history,
    }
    if view.following is not None:
        body["following"] = view.following
    if view.featuring is not None:
        body["featuring"] = view.featuring
    return body


def render_tags(views: list[TagView], uris: Uris) -> list[dict[str, Any]]:
    return [render_tag(v, uris) for v in views]


def render_featured_tag(view: FeaturedView, uris: Uris, username: str) -> dict[str, Any]:
    name = view.tag.display_name or view.tag.name
    return {
        "id": str(view.featured.id),
        "name": name,
        "url": uris.tagged(username, view.tag.name),
        "statuses_count": str(view.statuses_count),
        "last_status_at": view.last_status_at.strftime("%Y-%m-%d") if view.last_status_at else None,
    }
