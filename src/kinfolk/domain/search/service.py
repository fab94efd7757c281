"""Search as Mastodon's search box answers it: accounts, hashtags and statuses for one query.

Which parts run depends on the query, as in Mastodon: `#...` is no account search, a handle
(`@user@host` with no space) is no full-text search, anything with `@` is no hashtag search.
Full-text search is for signed-in users only, and finds what they interacted with plus public
posts of authors who opted in (`indexable`), always through the visibility policy. With
`resolve`, a URL or handle is looked up: our own URLs here, remote ones through the
`RemoteResolver` federation provides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.relationships.service import search_accounts
from kinfolk.domain.search import repo
from kinfolk.domain.search.query import MAX_QUERY_CHARS, parse
from kinfolk.domain.search.resolver import (
    RemoteResolver,
    Resolved,
    load_resolved,
    local_hosts,
    parse_handle,
    resolve_local_url,
)
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.tags import service as tags
from kinfolk.domain.tags.service import TagView
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unauthorized, Unprocessable
from kinfolk.kernel.uris import Uris
from kinfolk.text.compose import normalize_tag

TYPES = ("accounts", "hashtags", "statuses")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_TAG_PREFIX = re.compile(r"^[\w·]+$")
# No account has this id: lets the account search run for anonymous viewers (no follows, blocks).
_NOBODY = 0
_MEDIA_TYPES = {"image": ("image", "gifv"), "video": ("video", "gifv"), "audio": ("audio",)}


@dataclass
class SearchParams:
    q: str
    type: str | None = None
    resolve: bool = False
    following: bool = False
    account_id: int | None = None
    exclude_unreviewed: bool = False
    max_id: int | None = None
    min_id: int | None = None
    limit: int = 20
    offset: int = 0
    offset_given: bool = False


@dataclass
class SearchResults:
    accounts: list[Account] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    hashtags: list[TagView] = field(default_factory=list)


def _wants(params: SearchParams, kind: str) -> bool:
    return not params.type or params.type == kind


async def resolve_remote(
    params: SearchParams, *, viewer_id: int | None, uris: Uris, resolver: RemoteResolver
) -> Resolved | None:
    """The network half of a `resolve=true` search, run before its unit of work opens: a remote
    URL or `user@host` looked up (and stored) by the resolver, as an id for `search` to load.
    Only signed-in viewers resolve, as in Mastodon."""
    query = params.q.strip()
    if not params.resolve or viewer_id is None or not query or len(query) > MAX_QUERY_CHARS:
        return None
    if _URL.match(query):
        if uris.is_local(query) or params.offset > 0:
            return None
        return await resolver.resolve_url(query)
    handle = parse_handle(query)
    if handle is None or handle[1] in local_hosts(uris.host) or not _wants(params, "accounts"):
        return None
    account_id = await resolver.resolve_handle(handle[0], handle[1])
    return ("account", account_id) if account_id is not None else None


async def search(
    session: AsyncSession,
    params: SearchParams,
    *,
    viewer_id: int | None,
    uris: Uris,
    resolved: Resolved | None = None,
) -> SearchResults:
    local_domain = uris.host
    if viewer_id is None and params.offset_given:
        raise Unauthorized("Search queries pagination is not supported without authentication")
    if viewer_id is None and params.resolve:
        raise Unauthorized(
            "Search queries that resolve remote resources are not supported without authentication"
        )
    if len(params.q) > MAX_QUERY_CHARS:
        raise Unprocessable(f"Validation failed: Query is too long (maximum is {MAX_QUERY_CHARS} characters)")
    results = SearchResults()
    query = params.q.strip()
    if not query or params.limit <= 0:
        return results
    # As in Mastodon, offset only pages a search restricted to one type.
    offset = max(0, params.offset) if params.type else 0

    if params.resolve and _URL.match(query):
        assert viewer_id is not None
        if offset == 0:
            await _resolve_url(session, params, query, viewer_id, uris, resolved, results)
        return results

    starts_with_hash = query.startswith("#")
    if _wants(params, "accounts") and not (starts_with_hash or ("@" in query and " " in query)):
        results.accounts = await _accounts(session, params, query, viewer_id, local_domain, resolved, offset)
    if (
        _wants(params, "statuses")
        and viewer_id is not None
        and not ((starts_with_hash or "@" in query) and " " not in query)
    ):
        results.statuses = await _statuses(session, params, query, viewer_id, local_domain, offset)
    if _wants(params, "hashtags") and "@" not in query:
        results.hashtags = await _hashtags(session, params, query, viewer_id, offset)
    return results


async def _resolve_url(
    session: AsyncSession,
    params: SearchParams,
    url: str,
    viewer_id: int,
    uris: Uris,
    resolved: Resolved | None,
    results: SearchResults,
) -> None:
    found = await resolve_local_url(session, url, uris, viewer_id)
    if found is None and resolved is not None:
        found = await load_resolved(session, resolved, viewer_id)
    if isinstance(found, Account) and _wants(params, "accounts"):
        results.accounts = [found]
    elif isinstance(found, Status) and _wants(params, "statuses"):
        results.statuses = [found]


async def _accounts(
    session: AsyncSession,
    params: SearchParams,
    query: str,
    viewer_id: int | None,
    local_domain: str,
    resolved_ref: Resolved | None,
    offset: int,
) -> list[Account]:
    resolved: Account | None = None
    if resolved_ref is not None and resolved_ref[0] == "account" and viewer_id is not None:
        found_account = await load_resolved(session, resolved_ref, viewer_id)
        resolved = found_account if isinstance(found_account, Account) else None
    found = await search_accounts(
        session,
        viewer_id if viewer_id is not None else _NOBODY,
        query,
        local_domain=local_domain,
        limit=params.limit,
        offset=offset,
        following=params.following and viewer_id is not None,
        resolve=params.resolve,
    )
    if resolved is not None:
        found = [resolved, *[a for a in found if a.id != resolved.id]][: params.limit]
    return found


async def _statuses(
    session: AsyncSession, params: SearchParams, query: str, viewer_id: int, local_domain: str, offset: int
) -> list[Status]:
    parsed = parse(query)
    fts5, websearch = parsed.fts5(), parsed.websearch()
    if fts5 is None or websearch is None:
        return []
    from_ids = (
        await repo.account_ids_for_handles(
            session, parsed.from_accounts, viewer_id, local_hosts(local_domain)
        )
        if parsed.from_accounts
        else None
    )
    media_types = tuple(
        sorted({t for kind in parsed.has if kind in _MEDIA_TYPES for t in _MEDIA_TYPES[kind]})
    )
    return await repo.search_statuses(
        session,
        repo.StatusQuery(
            fts5_match=fts5,
            websearch_match=websearch,
            viewer_id=viewer_id,
            now=utcnow(),
            limit=params.limit,
            offset=offset,
            account_id=params.account_id,
            from_account_ids=from_ids,
            max_id=params.max_id,
            min_id=params.min_id,
            has_media="media" in parsed.has,
            has_poll="poll" in parsed.has,
            media_types=media_types,
            is_reply="reply" in parsed.is_,
            is_sensitive="sensitive" in parsed.is_,
            languages=tuple(parsed.languages),
            before=parsed.before,
            after=parsed.after,
            library_only=parsed.library_only,
        ),
    )


async def _hashtags(
    session: AsyncSession, params: SearchParams, query: str, viewer_id: int | None, offset: int
) -> list[TagView]:
    prefix = normalize_tag(query.lstrip("#").strip())
    if not _TAG_PREFIX.match(prefix):
        return []
    found = await tags_repo.search_tags(
        session, prefix, limit=params.limit, offset=offset, trendable_only=params.exclude_unreviewed
    )
    return await tags.views(session, found, viewer_id)
