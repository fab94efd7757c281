"""The ScheduledStatus entity."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.media_attachment import render_media
from kinfolk.container import Container
from kinfolk.domain.statuses.models import ScheduledStatus
from kinfolk.domain.statuses.scheduled import media_for
from kinfolk.kernel.clock import iso


async def render_scheduled(
    session: AsyncSession, container: Container, items: list[ScheduledStatus]
) -> list[dict[str, Any]]:
    media = await media_for(session, items)
    out = []
    for item in items:
        p = item.params or {}
        poll = p.get("poll")
        out.append(
            {
                "id": str(item.id),
                "scheduled_at": iso(item.scheduled_at),
                "params": {
                    "text": p.get("text", ""),
                    "poll": {
                        "options": poll.get("options", []),
                        "expires_in": str(poll.get("expires_in")),
                        "multiple": poll.get("multiple", False),
                        "hide_totals": poll.get("hide_totals", False),
                    }
                    if poll
                    else None,
                    "media_ids": [str(i) for i in item.media_attachment_ids or []] or None,
                    "sensitive": p.get("sensitive", False),
                    "spoiler_text": p.get("spoiler_text") or None,
                    "visibility": p.get("visibility") or "public",
                    "in_reply_to_id": str(p["in_reply_to_id"]) if p.get("in_reply_to_id") else None,
                    "language": p.get("language"),
                    "application_id": str(item.application_id) if item.application_id else None,
                    "scheduled_at": None,
                    "idempotency": p.get("idempotency"),
                    "with_rate_limit": False,
                },
                "media_attachments": [
                    render_media(container.storage, media[i])
                    for i in item.media_attachment_ids or []
                    if i in media
                ],
            }
        )
    return out
