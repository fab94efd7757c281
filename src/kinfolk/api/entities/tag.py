"""The Tag and FeaturedTag entities."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kinfolk.domain.tags.service import FeaturedView, TagView


def tag_url(base_url: str, name: str) -> str:
    return f"{base_url}/tags/{quote(name.lower(), safe='')}"


def render_tag(view: TagView, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(view.tag.id) if view.tag is not None else "",
        "name": view.name,
        "url": tag_url(base_url, view.tag.name if view.tag is not None else view.name),
        "history": view.history,
    }
    if view.following is not None:
        body["following"] = view.following
    if view.featuring is not None:
        body["featuring"] = view.featuring
    return body


def render_tags(views: list[TagView], base_url: str) -> list[dict[str, Any]]:
    return [render_tag(v, base_url) for v in views]


def render_featured_tag(view: FeaturedView, base_url: str, username: str) -> dict[str, Any]:
    name = view.tag.display_name or view.tag.name
    return {
        "id": str(view.featured.id),
        "name": name,
        "url": f"{base_url}/@{username}/tagged/{quote(view.tag.name, safe='')}",
        "statuses_count": str(view.statuses_count),
        "last_status_at": view.last_status_at.strftime("%Y-%m-%d") if view.last_status_at else None,
    }
