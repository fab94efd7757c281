"""The Search entity (v2): accounts, statuses and hashtags, each rendered a page at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.entities.tag import render_tags
from kinfolk.container import Container
from kinfolk.domain.search.service import SearchResults


async def render_search(
    session: AsyncSession, container: Container, results: SearchResults, viewer_id: int | None
) -> dict[str, Any]:
    return {
        "accounts": await render_accounts(session, results.accounts, container) if results.accounts else [],
        "statuses": await render_statuses(session, container, results.statuses, viewer_id),
        "hashtags": render_tags(results.hashtags, container.uris),
        # Mastodon 4.5 collections (curated account lists) do not exist here yet.
        "collections": [],
    }
