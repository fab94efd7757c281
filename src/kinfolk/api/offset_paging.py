"""Offset pagination as Mastodon does it for listings that have no stable id order (the profile
directory, collections): `offset` and `limit` in, and for collections a `Link` header out
whose `next`/`prev` carry `offset` (and the request's `limit`, if it gave one)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

# Far past any listing; keeps the number inside every database's integer range.
MAX_OFFSET = 1 << 31
_LEADING_INT = re.compile(r"^\s*[+-]?\d+")


def parse_offset(value: Any) -> int:
    """Lenient like Rails' `to_i`: leading digits count, anything else is 0; never negative."""
    number = 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        match = _LEADING_INT.match(value)
        number = int(match.group(0)) if match and match.group(0).isascii() else 0
    return min(max(number, 0), MAX_OFFSET)


def offset_link_header(
    request: Request, base_url: str, *, offset: int, limit: int, has_more: bool
) -> dict[str, str]:
    """`{"Link": ...}` pointing `limit` rows on (if there are more) and back (unless at 0)."""
    url = base_url.rstrip("/") + request.url.path
    given_limit = request.query_params.get("limit")
    kept = [("limit", given_limit)] if given_limit else []
    links = []
    if has_more:
        links.append(f'<{url}?{urlencode([*kept, ("offset", str(offset + limit))])}>; rel="next"')
    if offset > 0:
        links.append(f'<{url}?{urlencode([*kept, ("offset", str(max(offset - limit, 0)))])}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}
