"""Timelines: home, public (local, remote, media), hashtag and list, and the per-viewer checks the
streams make before showing a status.

The home timeline is the materialised feed, read by status id, and below its oldest row (or
entirely, when it was never built or was trimmed away) the followed accounts' statuses read
through with the same rules: Mastodon regenerates a missing feed, we read it where it lies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.lists import get_list
from kinfolk.domain.timelines.repo import feeds as repo
from kinfolk.kernel.paging import Page
from kinfolk.text.compose import normalize_tag

# Extra tags a hashtag timeline takes in each of any[], all[] and none[] (Mastodon's limit).
TAGS_PER_MODE = 4
# Rows each home feed keeps; older statuses are read through from the followed accounts.
HOME_FEED_SIZE = 800
LIST_FEED_SIZE = 800


def _merge(page: Page, first: list[Status], second: list[Status]) -> list[Status]:
    """Two disjoint pages read in the page's direction, as one page in that direction."""
    both = sorted({s.id: s for s in first + second}.values(), key=lambda s: s.id, reverse=not page.forward)
    return both[: page.limit]


async def home(session: AsyncSession, account_id: int, page: Page) -> list[Status]:
    """Newest first, like every page."""
    rows = await repo.home_page(session, account_id, page)
    if len(rows) < page.limit or page.forward:
        below = await repo.home_read_through(session, account_id, page)
        rows = _merge(page, rows, below) if below else rows
    return page.arrange(rows)


@dataclass(frozen=True)
class PublicOptions:
    local: bool = False
    remote: bool = False
    only_media: bool = False

    @property
    def origin(self) -> bool | None:
        """True for local only, False for remote only, None for both (both flags: local wins)."""
        if self.local:
            return True
        if self.remote:
            return False
        return None


async def public(
    session: AsyncSession, viewer_id: int | None, page: Page, options: PublicOptions
) -> list[Status]:
    rows = await repo.public_page(
        session, viewer_id, page, local=options.origin, only_media=options.only_media
    )
    return page.arrange(rows)


@dataclass(frozen=True)
class TagOptions(PublicOptions):
    any: Sequence[str] = field(default_factory=tuple)
    all: Sequence[str] = field(default_factory=tuple)
    none: Sequence[str] = field(default_factory=tuple)


def _names(values: Sequence[str]) -> list[str]:
    cleaned = [normalize_tag(v.strip().lstrip("#")) for v in values if isinstance(v, str) and v.strip()]
    return list(dict.fromkeys(cleaned))[:TAGS_PER_MODE]


async def hashtag(
    session: AsyncSession, viewer_id: int | None, name: str, page: Page, options: TagOptions
) -> list[Status]:
    main = normalize_tag(name.strip())
    any_names = list(dict.fromkeys([main, *_names(options.any)]))
    all_names = _names(options.all)
    none_names = _names(options.none)
    known = await repo.tag_ids(session, [*any_names, *all_names, *none_names])
    if main not in known or any(n not in known for n in all_names):
        return []
    rows = await repo.tag_page(
        session,
        viewer_id,
        page,
        any_ids=[known[n] for n in any_names if n in known],
        all_ids=[known[n] for n in all_names],
        none_ids=[known[n] for n in none_names if n in known],
        local=options.origin,
        only_media=options.only_media,
    )
    return page.arrange(rows)


async def list_timeline(session: AsyncSession, account_id: int, list_id: int, page: Page) -> list[Status]:
    found = await get_list(session, account_id, list_id)
    return page.arrange(await repo.list_page(session, account_id, found.id, page))


async def personal_status(session: AsyncSession, viewer_id: int, status_id: int) -> Status | None:
    """For the user and list streams: the status, if the viewer's home could show it now."""
    return await repo.personal_status(session, viewer_id, status_id)


async def public_status(session: AsyncSession, viewer_id: int | None, status_id: int) -> Status | None:
    """For the public and hashtag streams: the status, if the viewer may be shown it now."""
    return await repo.public_status(session, viewer_id, status_id)
