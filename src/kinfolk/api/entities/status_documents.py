"""Rendered statuses kept as JSON bytes, completed per viewer without rendering them again.

A status's JSON is mostly the same for every viewer; only its flags (favourited, reblogged,
bookmarked, muted, pinned), `application` (shown to its author), `quote_approval.current_user`,
its poll's `voted`/`own_votes` and the nested boost differ. This cache keeps, per process:

- a status's viewer-independent fields as bytes, with the values that make it stale (its edit
  time and counters) as read by the page statement;
- an account's JSON as bytes, with its update time and counters;
- a poll, with its update time.

Every page statement reads those values again (`home_rows`), so an entry is used only while
they are unchanged: no invalidation messages are needed, across processes either. An entry
also expires after `TTL` seconds, which bounds staleness from a change no value shows (a role
granted to a user, say). Statuses with media still processing are not kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.poll import render_poll
from kinfolk.api.entities.status import pinnable, quote_approval, render_statuses
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.oauth.models import Application
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.polls.service import own_votes
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines.repo.home_rows import ACCOUNT_STAMP_BY_ID, NEW_STATUS_STAMP

TTL = 300.0
MAX_STATUSES = 50_000
MAX_ACCOUNTS = 20_000
MAX_POLLS = 5_000

# Fields that depend on the viewer or are nested documents: never part of a cached status.
_PER_VIEWER = (
    "favourited",
    "reblogged",
    "muted",
    "bookmarked",
    "pinned",
    "application",
    "quote_approval",
    "filtered",
    "reblog",
    "quote",
    "poll",
    "account",
)


@dataclass(slots=True)
class StatusDocument:
    stamp: tuple[Any, ...]
    born: float
    # The JSON object without its closing brace, so viewer fields can follow.
    head: bytes
    account_id: int
    # Whether its author sees `pinned` (`pinnable`).
    pinnable: bool
    application: bytes
    approval_author: bytes
    approval_other: bytes
    # The whole document as most viewers see it (not the author, no flags, no poll, not a
    # boost), and the account document it was joined with.
    plain: bytes | None = None
    plain_account: AccountDocument | None = None


@dataclass(slots=True)
class AccountDocument:
    stamp: tuple[Any, ...]
    born: float
    body: bytes


@dataclass(slots=True)
class PollDocument:
    stamp: Any
    born: float
    poll: Poll


@dataclass(slots=True)
class Found:
    """The documents one page uses, held for the page so that eviction cannot take them."""

    statuses: dict[int, StatusDocument] = field(default_factory=dict)
    accounts: dict[int, AccountDocument] = field(default_factory=dict)
    polls: dict[int, PollDocument] = field(default_factory=dict)


D = TypeVar("D", StatusDocument, AccountDocument, PollDocument)


def _fresh(store: dict[int, D], key: int, stamp: Any, now: float) -> D | None:
    """The entry for `key` if it was made from the same `stamp` less than `TTL` ago."""
    found = store.get(key)
    if found is None or found.stamp != stamp or now - found.born > TTL:
        return None
    return found


def _kept(data: bytes) -> bytes:
    """A copy of exactly `data`'s size, for what the cache keeps: orjson returns its result in
    a buffer of at least 4 KB, so each small document kept as it came cost 4 KB (the soak saw
    17 KB of memory per cached status, docs/reliability.md); the copy costs its length."""
    return bytes(memoryview(data))


def _bounded_put(store: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    store.pop(key, None)
    store[key] = value
    while len(store) > limit:
        del store[next(iter(store))]


_TRUE, _FALSE = b"true", b"false"


class StatusDocuments:
    def __init__(self) -> None:
        self.statuses: dict[int, StatusDocument] = {}
        self.accounts: dict[int, AccountDocument] = {}
        self.polls: dict[int, PollDocument] = {}

    # -- lookups -------------------------------------------------------------------------

    def status(self, status_id: int, stamp: tuple[Any, ...], now: float) -> StatusDocument | None:
        return _fresh(self.statuses, status_id, stamp, now)

    def account(self, account_id: int, stamp: tuple[Any, ...], now: float) -> AccountDocument | None:
        return _fresh(self.accounts, account_id, stamp, now)

    def poll(self, poll_id: int, stamp: Any, now: float) -> PollDocument | None:
        return _fresh(self.polls, poll_id, stamp, now)

    # -- filling -------------------------------------------------------------------------

    async def fill(
        self,
        session: AsyncSession,
        container: Container,
        statuses: dict[int, tuple[Any, ...]],
        accounts: dict[int, tuple[Any, ...]],
        polls: dict[int, Any],
        into: Found,
    ) -> None:
        """Render what is missing or stale into `into` (and the cache); `statuses`, `accounts`
        and `polls` map ids to the stamps the page read, which the new entries keep. A status
        with media still processing is left out of both."""
        now = time.monotonic()
        if statuses:
            await self._fill_statuses(session, container, statuses, now, into)
        if accounts:
            rows = (await session.execute(select(Account).where(Account.id.in_(list(accounts))))).scalars()
            found = list(rows)
            for account, body in zip(found, await render_accounts(session, found, container), strict=True):
                doc = AccountDocument(accounts[account.id], now, _kept(orjson.dumps(body)))
                into.accounts[account.id] = doc
                _bounded_put(self.accounts, account.id, doc, MAX_ACCOUNTS)
        if polls:
            for poll in (await session.execute(select(Poll).where(Poll.id.in_(list(polls))))).scalars():
                session.expunge(poll)
                poll_doc = PollDocument(polls[poll.id], now, poll)
                into.polls[poll.id] = poll_doc
                _bounded_put(self.polls, poll.id, poll_doc, MAX_POLLS)

    async def _fill_statuses(
        self,
        session: AsyncSession,
        container: Container,
        stamps: dict[int, tuple[Any, ...]],
        now: float,
        into: Found,
    ) -> None:
        found = list((await session.execute(select(Status).where(Status.id.in_(list(stamps))))).scalars())
        processing = set(
            (
                await session.execute(
                    select(MediaAttachment.status_id).where(
                        MediaAttachment.status_id.in_(list(stamps)), MediaAttachment.state != "ready"
                    )
                )
            ).scalars()
        )
        app_ids = {s.application_id for s in found if s.application_id is not None}
        apps: dict[int, bytes] = {}
        if app_ids:
            result = await session.execute(select(Application).where(Application.id.in_(app_ids)))
            for app in result.scalars():
                apps[app.id] = _kept(orjson.dumps({"name": app.name, "website": app.website}))
        bodies = await render_statuses(session, container, found, None)
        for status, body in zip(found, bodies, strict=True):
            if status.id in processing:
                continue
            for key in _PER_VIEWER:
                body.pop(key, None)
            doc = StatusDocument(
                stamp=stamps[status.id],
                born=now,
                head=orjson.dumps(body)[:-1],
                account_id=status.account_id,
                pinnable=pinnable(status),
                # Shown to the author only, as the ORM renderer does.
                application=apps.get(status.application_id or 0, b"null"),
                approval_author=_kept(orjson.dumps(quote_approval(status, status.account_id))),
                approval_other=_kept(orjson.dumps(quote_approval(status, 0))),
            )
            into.statuses[status.id] = doc
            _bounded_put(self.statuses, status.id, doc, MAX_STATUSES)

    def remember_posted(
        self, status: Status, body: dict[str, Any], account_stamp: tuple[Any, ...] | None
    ) -> None:
        """Keep a status its author just posted, from the response rendered for them (which
        differs from everyone's only in the fields left out here): its first readers in this
        process find it rendered. Without this, each new status cost its first reader's page a
        full rendering (bench/RESULTS.md, G7). Quotes and boosts are rendered whole elsewhere.

        The author's account, whose counters the post changed, is kept too when its stamp was
        read before the account was rendered (`account_stamp`): a change in between leaves an
        entry whose stamp no page reads any more, never a stale one."""
        now = time.monotonic()
        if account_stamp is not None and isinstance(body.get("account"), dict):
            account = AccountDocument(account_stamp, now, _kept(orjson.dumps(body["account"])))
            _bounded_put(self.accounts, status.account_id, account, MAX_ACCOUNTS)
        if status.quote_of_id is not None or status.reblog_of_id is not None:
            return
        shared = {key: value for key, value in body.items() if key not in _PER_VIEWER}
        doc = StatusDocument(
            stamp=NEW_STATUS_STAMP,
            born=now,
            head=orjson.dumps(shared)[:-1],
            account_id=status.account_id,
            pinnable=pinnable(status),
            application=_kept(orjson.dumps(body.get("application"))),
            approval_author=_kept(orjson.dumps(quote_approval(status, status.account_id))),
            approval_other=_kept(orjson.dumps(quote_approval(status, 0))),
        )
        _bounded_put(self.statuses, status.id, doc, MAX_STATUSES)

    async def account_stamp(self, container: Container, account_id: int) -> tuple[Any, ...] | None:
        """An account's stamp as a page statement would read it now, or None without a reader."""
        if not container.reader.available:
            return None
        async with container.reader.connection() as connection:
            rows = await connection.fetch(ACCOUNT_STAMP_BY_ID, {"account_id": account_id})
        return tuple(rows[0]) if rows else None

    # -- assembling ----------------------------------------------------------------------

    def assemble(
        self,
        doc: StatusDocument,
        account: AccountDocument,
        viewer_id: int,
        flags: tuple[Any, Any, Any, Any, Any],
        *,
        reblog: bytes = b"null",
        poll: bytes = b"null",
    ) -> bytes:
        """The status's JSON for `viewer_id`; `flags` are favourited, reblogged, bookmarked,
        pinned and muted as the page statement read them."""
        favourited, reblogged, bookmarked, pinned, muted = flags
        own = doc.account_id == viewer_id
        plain = not own and not any(flags) and reblog == b"null" and poll == b"null"
        if plain and doc.plain is not None and doc.plain_account is account:
            return doc.plain
        parts = [
            doc.head,
            b',"account":',
            account.body,
            b',"reblog":',
            reblog,
            b',"poll":',
            poll,
            b',"quote":null,"filtered":[],"application":',
            doc.application if own else b"null",
            b',"quote_approval":',
            doc.approval_author if own else doc.approval_other,
            b',"favourited":',
            _TRUE if favourited else _FALSE,
            b',"reblogged":',
            _TRUE if reblogged else _FALSE,
            b',"muted":',
            _TRUE if muted else _FALSE,
            b',"bookmarked":',
            _TRUE if bookmarked else _FALSE,
        ]
        if own and doc.pinnable:
            parts += (b',"pinned":', _TRUE if pinned else _FALSE)
        parts.append(b"}")
        body = b"".join(parts)
        if plain:
            doc.plain, doc.plain_account = body, account
        return body

    async def poll_json(
        self, session: AsyncSession | None, doc: PollDocument, viewer_id: int, voted: bool
    ) -> bytes:
        """A poll for `viewer_id`; their own votes are read only when they voted."""
        votes: list[int] = []
        if voted and session is not None:
            votes = (await own_votes(session, viewer_id, [doc.poll.id])).get(doc.poll.id, [])
        return orjson.dumps(render_poll(doc.poll, votes, is_owner=doc.poll.account_id == viewer_id))
