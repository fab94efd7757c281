"""The Filter (v2), FilterKeyword, FilterStatus, FilterResult and v1 Filter entities."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kinfolk.domain.filters.models import Filter, FilterKeyword, FilterStatus
from kinfolk.kernel.clock import iso


def render_keyword(keyword: FilterKeyword) -> dict[str, Any]:
    return {"id": str(keyword.id), "keyword": keyword.keyword, "whole_word": keyword.whole_word}


def render_filter_status(row: FilterStatus) -> dict[str, Any]:
    return {"id": str(row.id), "status_id": str(row.status_id)}


def render_filter(
    filter_: Filter,
    keywords: Iterable[FilterKeyword] | None = None,
    statuses: Iterable[FilterStatus] | None = None,
) -> dict[str, Any]:
    """A filter; `keywords`/`statuses` None leaves them out, as inside a FilterResult."""
    body: dict[str, Any] = {
        "id": str(filter_.id),
        "title": filter_.title,
        "context": list(filter_.context or []),
        "expires_at": iso(filter_.expires_at),
        "filter_action": filter_.action,
    }
    if keywords is not None:
        body["keywords"] = [render_keyword(k) for k in keywords]
    if statuses is not None:
        body["statuses"] = [render_filter_status(s) for s in statuses]
    return body


def render_filter_result(
    filter_: Filter, keyword_matches: list[str] | None, status_matches: list[int] | None
) -> dict[str, Any]:
    return {
        "filter": render_filter(filter_),
        "keyword_matches": keyword_matches,
        "status_matches": [str(i) for i in status_matches] if status_matches is not None else None,
    }


def render_v1_filter(filter_: Filter, keyword: FilterKeyword) -> dict[str, Any]:
    """v1 filters are keywords seen through their filter: the id is the keyword's."""
    return {
        "id": str(keyword.id),
        "phrase": keyword.keyword,
        "context": list(filter_.context or []),
        "whole_word": keyword.whole_word,
        "expires_at": iso(filter_.expires_at),
        "irreversible": filter_.action == "hide",
    }
