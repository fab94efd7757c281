"""The Marker entity, keyed by timeline as `GET /api/v1/markers` returns them."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.timelines.models import Marker
from kinfolk.kernel.clock import iso


def render_marker(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }


def render_markers(markers: list[Marker]) -> dict[str, Any]:
    return {m.timeline: render_marker(m) for m in markers}
