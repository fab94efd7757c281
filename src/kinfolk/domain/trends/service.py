"""What is trending, computed from recent public activity and stored for cheap reads.

- tags: distinct accounts using a trendable tag in public posts over the last two days;
- statuses: favourites and boosts in the last two days of public posts from the last week;
- links: distinct accounts sharing a URL in public posts over the last two days.
Only discoverable authors who are neither suspended nor silenced count. `refresh` runs in a
periodic job and rewrites a small ranked table; requests only read that table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.search.plaintext import html_to_text
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags.service import HISTORY_DAYS, TagView
from kinfolk.domain.trends import repo
from kinfolk.domain.trends.repo import DailyUse
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id
from kinfolk.text.compose import extract_entities

WINDOW = timedelta(days=2)
STATUS_AGE = timedelta(days=7)
HISTORY = timedelta(days=HISTORY_DAYS)
STORED = 100  # entries kept per kind: enough for any page clients ask for
MIN_TAG_ACCOUNTS = 2
MIN_STATUS_SCORE = 2
MIN_LINK_ACCOUNTS = 2
MAX_LINK_POSTS = 20_000  # posts scanned for links per refresh


@dataclass
class TrendingLink:
    url: str
    history: list[dict[str, str]]


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _histories(uses: list[DailyUse], keys: list[Any], now: datetime) -> dict[Any, list[dict[str, str]]]:
    today = _day_start(now)
    counts = {(u.key, u.day): (u.uses, u.accounts) for u in uses}
    out: dict[Any, list[dict[str, str]]] = {}
    for key in keys:
        days = []
        for i in range(HISTORY_DAYS):
            day = today - timedelta(days=i)
            used, accounts = counts.get((key, day.strftime("%Y-%m-%d")), (0, 0))
            days.append({"day": str(int(day.timestamp())), "uses": str(used), "accounts": str(accounts)})
        out[key] = days
    return out


def normalize_link(url: str) -> str | None:
    """A shared URL as one key: no fragment, lower-case scheme and host; None if not http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _links_in(post: repo.RecentPost) -> set[str]:
    text = post.text if post.local and post.text else html_to_text(post.content)
    found = set()
    for entity in extract_entities(text):
        if entity.kind == "url":
            link = normalize_link(entity.value)
            if link is not None:
                found.add(link)
    return found


async def _refresh_tags(session: AsyncSession, now: datetime) -> None:
    scores = await repo.tag_scores(session, now - WINDOW, min_accounts=MIN_TAG_ACCOUNTS, limit=STORED)
    ids = [t for t, _ in scores]
    since = _day_start(now) - timedelta(days=HISTORY_DAYS - 1)
    history = _histories(await repo.tag_daily_uses(session, ids, since), ids, now)
    await repo.replace_entries(
        session,
        "tags",
        [
            {
                "id": new_id(),
                "kind": "tags",
                "rank": rank,
                "tag_id": tag_id,
                "status_id": None,
                "url": None,
                "score": float(score),
                "history": history[tag_id],
                "computed_at": now,
            }
            for rank, (tag_id, score) in enumerate(scores)
        ],
    )


async def _refresh_statuses(session: AsyncSession, now: datetime) -> None:
    scores = await repo.status_scores(
        session, now - STATUS_AGE, now - WINDOW, min_score=MIN_STATUS_SCORE, limit=STORED
    )
    await repo.replace_entries(
        session,
        "statuses",
        [
            {
                "id": new_id(),
                "kind": "statuses",
                "rank": rank,
                "tag_id": None,
                "status_id": status_id,
                "url": None,
                "score": float(score),
                "history": [],
                "computed_at": now,
            }
            for rank, (status_id, score) in enumerate(scores)
        ],
    )


async def _refresh_links(session: AsyncSession, now: datetime, local_host: str) -> None:
    since = _day_start(now) - timedelta(days=HISTORY_DAYS - 1)
    recent_since = now - WINDOW
    posts = await repo.recent_public_posts(session, since, MAX_LINK_POSTS)
    recent_accounts: dict[str, set[int]] = defaultdict(set)
    per_day: dict[tuple[str, str], tuple[set[int], set[int]]] = {}
    for post in posts:
        day = post.created_at.astimezone(UTC).strftime("%Y-%m-%d")
        for link in _links_in(post):
            if (urlsplit(link).hostname or "") == local_host:
                continue
            statuses, accounts = per_day.setdefault((link, day), (set(), set()))
            statuses.add(post.status_id)
            accounts.add(post.account_id)
            if post.created_at >= recent_since:
                recent_accounts[link].add(post.account_id)
    ranked = sorted(
        ((len(a), link) for link, a in recent_accounts.items() if len(a) >= MIN_LINK_ACCOUNTS),
        key=lambda pair: (-pair[0], pair[1]),
    )[:STORED]
    uses = [DailyUse(link, day, len(s), len(a)) for (link, day), (s, a) in per_day.items()]
    history = _histories(uses, [link for _, link in ranked], now)
    await repo.replace_entries(
        session,
        "links",
        [
            {
                "id": new_id(),
                "kind": "links",
                "rank": rank,
                "tag_id": None,
                "status_id": None,
                "url": link,
                "score": float(score),
                "history": history[link],
                "computed_at": now,
            }
            for rank, (score, link) in enumerate(ranked)
        ],
    )


async def refresh(session: AsyncSession, *, local_host: str, now: datetime | None = None) -> None:
    """Recompute every kind of trend and replace the stored ranking in one transaction."""
    moment = now or utcnow()
    await _refresh_tags(session, moment)
    await _refresh_statuses(session, moment)
    await _refresh_links(session, moment, local_host.split(":", 1)[0].lower())


# -- reads -------------------------------------------------------------------------------------


async def trending_tags(
    session: AsyncSession, viewer_id: int | None, limit: int, offset: int
) -> list[TagView]:
    rows = await repo.trending_tags(session, limit, offset)
    ids = [t.id for _, t in rows]
    following = await tags_repo.followed_among(session, viewer_id, ids) if viewer_id is not None else set()
    featuring = await tags_repo.featured_among(session, viewer_id, ids) if viewer_id is not None else set()
    return [
        TagView(
            name=tag.display_name or tag.name,
            tag=tag,
            history=list(entry.history or []),
            following=(tag.id in following) if viewer_id is not None else None,
            featuring=(tag.id in featuring) if viewer_id is not None else None,
        )
        for entry, tag in rows
    ]


async def trending_statuses(
    session: AsyncSession, viewer_id: int | None, limit: int, offset: int
) -> list[Status]:
    return await repo.trending_statuses(session, viewer_id, utcnow(), limit, offset)


async def trending_links(session: AsyncSession, limit: int, offset: int) -> list[TrendingLink]:
    return [
        TrendingLink(url=e.url or "", history=list(e.history or []))
        for e in await repo.entries(session, "links", limit, offset)
    ]
