"""Mastodon pagination over HTTP: `max_id`/`since_id`/`min_id`/`limit` in, a `Link` header out.

Clients are told to follow the `Link` header rather than build cursors themselves, because
many listings page by internal ids (a follower list by `follows.id`). The header keeps every
other query parameter of the request and replaces only the cursors:

    Link: <https://host/api/v1/blocks?limit=2&max_id=9>; rel="next", <...&min_id=12>; rel="prev"

`next` is given when the page is full (there may be more), `prev` whenever the page is not
empty, as Mastodon's account lists do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.http import json_response
from kinfolk.kernel.errors import BadRequest
from kinfolk.kernel.paging import Page

CURSORS = ("max_id", "since_id", "min_id")
# Ids are 64-bit signed in the database; anything larger could only fail there.
_ID_MAX = (1 << 63) - 1
_INT_RE = re.compile(r"^\s*[+-]?\d+")


@dataclass(frozen=True)
class Limits:
    default: int
    maximum: int


ACCOUNTS = Limits(default=40, maximum=80)
STATUSES = Limits(default=20, maximum=40)
DOMAIN_BLOCKS = Limits(default=100, maximum=200)


def parse_id(value: Any, name: str) -> int | None:
    """A cursor id: absent or blank is None; anything but a non-negative integer is a 400."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadRequest(f"Invalid {name}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    else:
        raise BadRequest(f"Invalid {name}")
    if number < 0 or number > _ID_MAX:
        raise BadRequest(f"Invalid {name}")
    return number


def parse_limit(value: Any, limits: Limits) -> int:
    """Lenient, like Mastodon's `to_i`: leading digits count, the sign is dropped, then capped."""
    number = 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        match = _INT_RE.match(value)
        number = int(match.group(0)) if match else 0
    number = abs(number)
    if number == 0:
        return limits.default
    return min(number, limits.maximum)


def parse_page(params: Mapping[str, Any], limits: Limits) -> Page:
    return Page(
        limit=parse_limit(params.get("limit"), limits),
        max_id=parse_id(params.get("max_id"), "max_id"),
        since_id=parse_id(params.get("since_id"), "since_id"),
        min_id=parse_id(params.get("min_id"), "min_id"),
    )


def link_header(
    url: str,
    query: Iterable[tuple[str, str]],
    *,
    next_max_id: int | None,
    prev_min_id: int | None,
) -> str | None:
    """The `Link` value for `url`, keeping `query` except its cursors; None if no link applies."""
    kept = [(key, value) for key, value in query if key not in CURSORS]
    links = []
    if next_max_id is not None:
        links.append(f'<{url}?{urlencode([*kept, ("max_id", str(next_max_id))])}>; rel="next"')
    if prev_min_id is not None:
        links.append(f'<{url}?{urlencode([*kept, ("min_id", str(prev_min_id))])}>; rel="prev"')
    return ", ".join(links) or None


def request_url(request: Request, base_url: str | None = None) -> str:
    """The request's address without its query, on the configured origin (`base_url`, or the
    app's settings): never on the Host header, which the client chooses."""
    if not base_url:
        base_url = request.app.state.container.settings.base_url
    # The path as `request.url` would give it, without building the whole URL.
    path = request.scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return str(base_url).rstrip("/") + path


def pagination_headers(
    request: Request,
    page: Page,
    ids: Sequence[int],
    *,
    base_url: str | None = None,
    next_requires_full_page: bool = True,
) -> dict[str, str]:
    """`{"Link": ...}` for a page whose rows have pagination `ids`, newest first; `{}` if empty."""
    if not ids:
        return {}
    has_next = len(ids) >= page.limit or not next_requires_full_page
    value = link_header(
        request_url(request, base_url),
        request.query_params.multi_items(),
        next_max_id=ids[-1] if has_next else None,
        prev_min_id=ids[0],
    )
    return {"Link": value} if value else {}


def paged_response(
    request: Request,
    data: Any,
    page: Page,
    ids: Sequence[int],
    *,
    base_url: str | None = None,
    next_requires_full_page: bool = True,
) -> Response:
    """A JSON list with its `Link` header."""
    headers = pagination_headers(
        request, page, ids, base_url=base_url, next_requires_full_page=next_requires_full_page
    )
    return json_response(data, headers=headers or None)
