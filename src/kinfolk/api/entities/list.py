"""The List entity."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.timelines.models import List


def render_list(found: List) -> dict[str, Any]:
    return {
        "id": str(found.id),
        "title": found.title,
        "replies_policy": found.replies_policy,
        "exclusive": found.exclusive,
    }
