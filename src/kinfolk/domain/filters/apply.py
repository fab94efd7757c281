"""Applying a viewer's filters to a page of statuses, for timelines, notifications and threads.

Statuses matched by a `hide` filter for the context leave the page; `warn` and `blur` matches are
returned as `FilterMatch`es per status id (both the boost and the boosted status, as Mastodon
keys them), which `render_statuses(filters=...)` renders as FilterResult entities. A viewer
without filters costs one query; otherwise a fixed handful, whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.filters import repo
from kinfolk.domain.filters.matching import KeywordMatcher, compile_keywords, first_match
from kinfolk.domain.filters.models import Filter
from kinfolk.domain.search.plaintext import searchable_text
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.clock import utcnow


@dataclass(frozen=True)
class FilterMatch:
    """Why a status is marked: which filter, and the keywords or statuses that matched."""

    filter: Filter
    keyword_matches: list[str] | None
    status_matches: list[int] | None


@dataclass(frozen=True)
class _Rules:
    filter: Filter
    keywords: KeywordMatcher | None
    status_ids: frozenset[int]


async def _rules(session: AsyncSession, account_id: int, context: str) -> list[_Rules]:
    filters = [
        f for f in await repo.active_filters(session, account_id, utcnow()) if context in (f.context or [])
    ]
    if not filters:
        return []
    ids = [f.id for f in filters]
    keywords = await repo.keywords_for(session, ids)
    statuses = await repo.statuses_for(session, ids)
    return [
        _Rules(f, compile_keywords(keywords[f.id]), frozenset(s.status_id for s in statuses[f.id]))
        for f in filters
        if keywords[f.id] or statuses[f.id]
    ]


async def _texts(session: AsyncSession, propers: dict[int, Status]) -> dict[int, str]:
    """Searchable text per proper (non-boost) status id."""
    media = await repo.media_descriptions(session, set(propers))
    polls = await repo.poll_options(session, {s.poll_id for s in propers.values() if s.poll_id})
    return {
        s.id: searchable_text(
            text=s.text,
            content=s.content,
            local=s.local,
            spoiler_text=s.spoiler_text,
            poll_options=polls.get(s.poll_id) if s.poll_id else None,
            media_descriptions=media.get(s.id),
        )
        for s in propers.values()
    }


async def apply_filters(
    session: AsyncSession, account_id: int, statuses: list[Status], context: str
) -> tuple[list[Status], dict[int, list[FilterMatch]]]:
    if not statuses:
        return [], {}
    rules = await _rules(session, account_id, context)
    if not rules:
        return list(statuses), {}
    by_id = {s.id: s for s in statuses}
    inner = await repo.statuses_by_id(
        session, {s.reblog_of_id for s in statuses if s.reblog_of_id and s.reblog_of_id not in by_id}
    )
    by_id.update(inner)
    propers = {}
    for s in statuses:
        proper = by_id.get(s.reblog_of_id) if s.reblog_of_id else s
        if proper is not None:
            propers[proper.id] = proper
    texts = await _texts(session, propers) if any(r.keywords for r in rules) else {}

    kept: list[Status] = []
    results: dict[int, list[FilterMatch]] = {}
    for status in statuses:
        proper_id = status.reblog_of_id or status.id
        text = texts.get(proper_id, "")
        hidden = False
        matched: list[FilterMatch] = []
        for rule in rules:
            keyword = first_match(rule.keywords, text)
            status_matches = [
                i for i in (status.id, status.reblog_of_id) if i is not None and i in rule.status_ids
            ]
            if keyword is None and not status_matches:
                continue
            if rule.filter.action == "hide":
                hidden = True
                break
            matched.append(
                FilterMatch(rule.filter, [keyword] if keyword is not None else None, status_matches or None)
            )
        if hidden:
            continue
        kept.append(status)
        if matched:
            results[status.id] = matched
            if status.reblog_of_id is not None:
                results[status.reblog_of_id] = matched
    return kept, results
