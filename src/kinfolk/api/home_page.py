"""The home timeline's read path for its common case, built for speed (bench/RESULTS.md, G1).

One connection; the token and the page with every flag and stamp in two statements (plus one
for the originals a page's boosts show and one for its polls, when it has any); cached
status, account and poll documents, and bytes joined into the response: no ORM objects and
no per-status rendering once the cache is warm. Whatever it does not handle it declines
(returns None) and the ORM path answers: errors (no, bad or app-only token, missing scope),
viewers with filters, pages that need the read-through below the feed, `min_id` pages, and
quote posts (rendered by the ORM path inside an otherwise cached page).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.auth import bearer_token
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.entities.status_documents import Found, StatusDocuments
from kinfolk.api.paging import pagination_headers
from kinfolk.container import Container
from kinfolk.db.reader import ReadConnection
from kinfolk.domain.oauth.scopes import covers
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.repo import home_rows as hr
from kinfolk.kernel import secrets as ksecrets
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.paging import Page

MEDIA_TYPE = "application/json; charset=utf-8"
# The scope the home timeline asks of a token, on this path and on the ORM path alike.
SCOPE = "read:statuses"


@dataclass
class _Read:
    viewer_id: int
    rows: list[Any]
    boosted: dict[int, Any] = field(default_factory=dict)
    polls: dict[int, Any] = field(default_factory=dict)

    def shown(self, row: Any) -> Any:
        """The part a row shows: the original it boosts (None if that went between two
        statements), or the status itself."""
        reblog_of_id = row[hr.REBLOG_OF_ID]
        return row if reblog_of_id is None else self.boosted.get(reblog_of_id)


async def _read(connection: ReadConnection, digest: str, page: Page) -> _Read | None:
    now = utcnow()
    token = await connection.fetch(hr.TOKEN_VIEWER, {"digest": digest, "now": now})
    if not token:
        return None
    scopes, viewer_id, has_filters = token[0][:3]
    if has_filters or not covers(scopes.split(), SCOPE):
        return None
    has = hr.has_from(token[0])
    statement = hr.home_rows(page.max_id is not None, page.since_id is not None, has)
    values = {
        "viewer": viewer_id,
        "now": now,
        "max_id": page.max_id,
        "since_id": page.since_id,
        "limit": page.limit,
    }
    read = _Read(viewer_id, list(await connection.fetch(statement, values)))
    if len(read.rows) < page.limit:
        return read
    boosted_ids = [row[hr.REBLOG_OF_ID] for row in read.rows if row[hr.REBLOG_OF_ID] is not None]
    if boosted_ids:
        by_id = {"viewer": viewer_id, **hr.by_id_values(boosted_ids)}
        for part in await connection.fetch(hr.parts_by_id(has), by_id):
            read.boosted[part[hr.ID]] = part
    shown = (read.shown(row) for row in read.rows)
    poll_ids = [part[hr.POLL_ID] for part in shown if part is not None and part[hr.POLL_ID] is not None]
    if poll_ids:
        by_id = {"viewer": viewer_id, **hr.by_id_values(poll_ids)}
        for poll in await connection.fetch(hr.POLLS_BY_ID, by_id):
            read.polls[poll[hr.POLL_ROW_ID]] = poll
    return read


def _flags(part: Any) -> tuple[Any, Any, Any, Any, Any]:
    return (part[hr.FAVOURITED], part[hr.REBLOGGED], part[hr.BOOKMARKED], part[hr.PINNED], part[hr.MUTED])


async def serve(
    request: Request, container: Container, documents: StatusDocuments, page: Page
) -> Response | None:
    if page.forward:
        return None
    plain = bearer_token(request)
    if plain is None or not container.reader.available:
        return None
    async with container.reader.connection() as connection:
        read = await _read(connection, ksecrets.digest(plain), page)
    if read is None or len(read.rows) < page.limit:
        return None  # errors, filters, or the read-through below the feed: the ORM path
    viewer_id, rows = read.viewer_id, read.rows
    request.scope["kinfolk.account_id"] = viewer_id  # for the access log

    now = time.monotonic()
    found = Found()
    status_misses: dict[int, tuple[Any, ...]] = {}
    account_misses: dict[int, tuple[Any, ...]] = {}
    poll_misses: dict[int, Any] = {}
    by_orm: set[int] = set()  # rows rendered whole by the ORM path
    voted: dict[int, bool] = {}
    # Per row: the row, the boosted original's part or None, the poll shown.
    laid_out: list[tuple[Any, Any, int | None]] = []
    for row in rows:
        inner = None
        if row[hr.REBLOG_OF_ID] is not None:
            inner = read.boosted.get(row[hr.REBLOG_OF_ID])
            if inner is None:
                by_orm.add(row[hr.ID])  # the original went between two statements
                continue
        shown = row if inner is None else inner
        poll_id = shown[hr.POLL_ID]
        laid_out.append((row, inner, poll_id))
        if shown[hr.QUOTE_OF_ID] is not None or row[hr.QUOTE_OF_ID] is not None:
            by_orm.add(row[hr.ID])
            continue
        for part in (row,) if inner is None else (row, inner):
            status_id, stamp = part[hr.ID], tuple(part[hr.STATUS_STAMP])
            _sort(documents.status(status_id, stamp, now), status_id, stamp, found.statuses, status_misses)
            account_id, stamp = part[hr.ACCOUNT_ID], tuple(part[hr.ACCOUNT_STAMP])
            _sort(
                documents.account(account_id, stamp, now), account_id, stamp, found.accounts, account_misses
            )
        if poll_id is not None:
            poll_row = read.polls.get(poll_id)
            poll_stamp = poll_row[hr.POLL_STAMP] if poll_row is not None else None
            voted[poll_id] = bool(poll_row[hr.POLL_VOTED]) if poll_row is not None else False
            _sort(documents.poll(poll_id, poll_stamp, now), poll_id, poll_stamp, found.polls, poll_misses)

    rendered: dict[int, bytes] = {}
    polls: dict[int, bytes] = {}
    if status_misses or account_misses or poll_misses or by_orm or any(voted.values()):
        async with container.db.uow(write=False) as uow:
            session = uow.session
            await documents.fill(session, container, status_misses, account_misses, poll_misses, found)
            for row, inner, _ in laid_out:
                if row[hr.ID] not in found.statuses or (
                    inner is not None and inner[hr.ID] not in found.statuses
                ):
                    by_orm.add(row[hr.ID])  # media still processing
            if by_orm:
                result = await session.execute(select(Status).where(Status.id.in_(list(by_orm))))
                statuses = list(result.scalars())
                bodies = await render_statuses(session, container, statuses, viewer_id)
                for status, body in zip(statuses, bodies, strict=True):
                    rendered[status.id] = orjson.dumps(body)
            for poll_id, did_vote in voted.items():
                voted_doc = found.polls.get(poll_id)
                if did_vote and voted_doc is not None:
                    polls[poll_id] = await documents.poll_json(session, voted_doc, viewer_id, True)

    assemble = documents.assemble
    statuses_found, accounts_found = found.statuses, found.accounts
    position = {row[hr.ID]: i for i, row in enumerate(rows)}
    ordered: list[bytes | None] = [rendered.get(row[hr.ID]) for row in rows]
    for row, inner, poll_id in laid_out:
        i = position[row[hr.ID]]
        if ordered[i] is not None:
            continue
        poll = b"null"
        if poll_id is not None:
            poll_doc = found.polls.get(poll_id)
            if poll_doc is not None:
                poll = polls.get(poll_id) or await documents.poll_json(None, poll_doc, viewer_id, False)
        reblog = b"null"
        if inner is not None:
            reblog = assemble(
                statuses_found[inner[hr.ID]],
                accounts_found[inner[hr.ACCOUNT_ID]],
                viewer_id,
                _flags(inner),
                poll=poll,
            )
            poll = b"null"
        ordered[i] = assemble(
            statuses_found[row[hr.ID]],
            accounts_found[row[hr.ACCOUNT_ID]],
            viewer_id,
            _flags(row),
            reblog=reblog,
            poll=poll,
        )
    items = [body for body in ordered if body is not None]

    ids = [row[hr.ID] for row in rows]
    headers = pagination_headers(
        request, page, ids, base_url=container.settings.base_url, next_requires_full_page=False
    )
    return Response(b"[" + b",".join(items) + b"]", media_type=MEDIA_TYPE, headers=headers or None)


def _sort(doc: Any, key: int, stamp: Any, hits: dict[int, Any], misses: dict[int, Any]) -> None:
    """A cached document goes to the page's hits; a missing or stale one, with the stamp the
    page read, to what must be rendered."""
    if doc is None:
        misses[key] = stamp
    else:
        hits[key] = doc
