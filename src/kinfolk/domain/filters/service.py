"""Filters v2 (a titled filter with keywords and statuses) and the v1 view of them.

v1 filters are keywords seen through their filter, as Mastodon maps them: creating a v1 filter
makes a filter with one keyword, its id is the keyword's, and deleting it deletes the keyword.
Every change ends in `_filters_changed`, the one hook streaming listens to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain.filters import repo
from kinfolk.domain.filters.models import Filter, FilterKeyword, FilterStatus
from kinfolk.domain.timelines.streams import filters_changed
from kinfolk.domain.visibility import can_see
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
MAX_TEXT = 255
# A century: longer is no expiry in practice, and keeps the datetime arithmetic in range.
MAX_EXPIRES_IN = 100 * 365 * 24 * 3600
MULTIPLE_KEYWORDS = (
    "These parameters cannot be changed from this application because they apply to more than one "
    "filter keyword. Use a more recent application or the web interface."
)


class Unset:
    """A parameter the client did not send (as opposed to sending it empty)."""


UNSET = Unset()


@dataclass
class KeywordInput:
    keyword: str | None = None
    whole_word: bool | None = None
    id: int | None = None
    destroy: bool = False


@dataclass
class FilterInput:
    title: str | None = None
    context: list[str] | None = None
    action: str | None = None
    # Seconds from now; None clears the expiry; UNSET leaves it alone.
    expires_in: int | Unset | None = UNSET
    keywords: list[KeywordInput] = field(default_factory=list)


@dataclass
class FilterView:
    filter: Filter
    keywords: list[FilterKeyword]
    statuses: list[FilterStatus]


async def _filters_changed(uow: UnitOfWork, account_id: int) -> None:
    """The one call site for streaming: open streams learn of the change once the commit lands."""
    filters_changed(uow, account_id)


# -- validation ------------------------------------------------------------------------------


def _invalid(message: str) -> Unprocessable:
    return Unprocessable(f"Validation failed: {message}")


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise _invalid("Title can't be blank")
    if len(title) > MAX_TEXT:
        raise _invalid(f"Title is too long (maximum is {MAX_TEXT} characters)")
    return title


def _check_context(context: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in context if c and c.strip()))
    if not cleaned:
        raise _invalid("Context can't be blank")
    if any(c not in CONTEXTS for c in cleaned):
        raise _invalid("Context None or invalid context supplied")
    return cleaned


def _check_action(action: str) -> str:
    if action not in ACTIONS:
        raise _invalid(f"'{action}' is not a valid filter_action")
    return action


def _check_keyword(keyword: str | None) -> str:
    keyword = (keyword or "").strip()
    if not keyword:
        raise _invalid("Keywords keyword can't be blank")
    if len(keyword) > MAX_TEXT:
        raise _invalid(f"Keywords keyword is too long (maximum is {MAX_TEXT} characters)")
    return keyword


def _apply_expiry(row: Filter, expires_in: int | Unset | None) -> None:
    if isinstance(expires_in, Unset):
        return
    if expires_in is None:
        row.expires_at = None
        return
    if expires_in <= 0 or expires_in > MAX_EXPIRES_IN:
        raise _invalid("Expires in is out of range")
    row.expires_at = utcnow() + timedelta(seconds=expires_in)


# -- v2 filters -------------------------------------------------------------------------------


async def _views(session: AsyncSession, filters: list[Filter]) -> list[FilterView]:
    ids = [f.id for f in filters]
    keywords = await repo.keywords_for(session, ids)
    statuses = await repo.statuses_for(session, ids)
    return [FilterView(f, keywords[f.id], statuses[f.id]) for f in filters]


async def _own_filter(session: AsyncSession, account_id: int, filter_id: int) -> Filter:
    row = await repo.get_filter(session, account_id, filter_id)
    if row is None:
        raise NotFound()
    return row


async def list_filters(session: AsyncSession, account_id: int) -> list[FilterView]:
    return await _views(session, await repo.list_filters(session, account_id))


async def show_filter(session: AsyncSession, account_id: int, filter_id: int) -> FilterView:
    return (await _views(session, [await _own_filter(session, account_id, filter_id)]))[0]


async def create_filter(uow: UnitOfWork, account_id: int, data: FilterInput) -> FilterView:
    row = Filter(
        account_id=account_id,
        title=_check_title(data.title or ""),
        context=_check_context(data.context or []),
        action=_check_action(data.action or "warn"),
    )
    _apply_expiry(row, data.expires_in)
    keywords = [
        FilterKeyword(
            keyword=_check_keyword(k.keyword), whole_word=True if k.whole_word is None else k.whole_word
        )
        for k in data.keywords
        if not k.destroy and k.id is None
    ]
    await repo.add(uow.session, row)
    for keyword in keywords:
        keyword.filter_id = row.id
        await repo.add(uow.session, keyword)
    await _filters_changed(uow, account_id)
    return await show_filter(uow.session, account_id, row.id)


async def update_filter(uow: UnitOfWork, account_id: int, filter_id: int, data: FilterInput) -> FilterView:
    session = uow.session
    row = await _own_filter(session, account_id, filter_id)
    if data.title is not None:
        row.title = _check_title(data.title)
    if data.context is not None:
        row.context = _check_context(data.context)
    if data.action is not None:
        row.action = _check_action(data.action)
    _apply_expiry(row, data.expires_in)
    existing = {k.id: k for k in (await repo.keywords_for(session, [row.id]))[row.id]}
    for item in data.keywords:
        if item.id is not None:
            keyword = existing.get(item.id)
            if keyword is None:
                raise NotFound()
            if item.destroy:
                await repo.remove(session, keyword)
                continue
            if item.keyword is not None:
                keyword.keyword = _check_keyword(item.keyword)
            if item.whole_word is not None:
                keyword.whole_word = item.whole_word
        elif not item.destroy:
            whole_word = True if item.whole_word is None else item.whole_word
            await repo.add(
                session,
                FilterKeyword(filter_id=row.id, keyword=_check_keyword(item.keyword), whole_word=whole_word),
            )
    await session.flush()
    await _filters_changed(uow, account_id)
    return await show_filter(session, account_id, row.id)


async def delete_filter(uow: UnitOfWork, account_id: int, filter_id: int) -> None:
    row = await _own_filter(uow.session, account_id, filter_id)
    await repo.delete_filter(uow.session, row.id)
    await _filters_changed(uow, account_id)


# -- keywords ---------------------------------------------------------------------------------


async def list_keywords(session: AsyncSession, account_id: int, filter_id: int) -> list[FilterKeyword]:
    row = await _own_filter(session, account_id, filter_id)
    return (await repo.keywords_for(session, [row.id]))[row.id]


async def add_keyword(
    uow: UnitOfWork, account_id: int, filter_id: int, keyword: str | None, whole_word: bool | None
) -> FilterKeyword:
    row = await _own_filter(uow.session, account_id, filter_id)
    created = FilterKeyword(
        filter_id=row.id,
        keyword=_check_keyword(keyword),
        whole_word=True if whole_word is None else whole_word,
    )
    await repo.add(uow.session, created)
    await _filters_changed(uow, account_id)
    return created


async def show_keyword(session: AsyncSession, account_id: int, keyword_id: int) -> FilterKeyword:
    found = await repo.get_keyword(session, account_id, keyword_id)
    if found is None:
        raise NotFound()
    return found[0]


async def update_keyword(
    uow: UnitOfWork, account_id: int, keyword_id: int, keyword: str | None, whole_word: bool | None
) -> FilterKeyword:
    row = await show_keyword(uow.session, account_id, keyword_id)
    if keyword is not None:
        row.keyword = _check_keyword(keyword)
    if whole_word is not None:
        row.whole_word = whole_word
    await uow.session.flush()
    await _filters_changed(uow, account_id)
    return row


async def delete_keyword(uow: UnitOfWork, account_id: int, keyword_id: int) -> None:
    row = await show_keyword(uow.session, account_id, keyword_id)
    await repo.remove(uow.session, row)
    await _filters_changed(uow, account_id)


# -- statuses ---------------------------------------------------------------------------------


async def list_filter_statuses(session: AsyncSession, account_id: int, filter_id: int) -> list[FilterStatus]:
    row = await _own_filter(session, account_id, filter_id)
    return (await repo.statuses_for(session, [row.id]))[row.id]


async def add_filter_status(
    uow: UnitOfWork, account_id: int, filter_id: int, status_id: int | None
) -> FilterStatus:
    session = uow.session
    row = await _own_filter(session, account_id, filter_id)
    status = await repo.statuses_by_id(session, {status_id}) if status_id is not None else {}
    target = status.get(status_id) if status_id is not None else None
    if target is None or not await can_see(session, target, account_id):
        raise NotFound()
    if await repo.find_filter_status(session, row.id, target.id) is not None:
        raise _invalid("Status has already been taken")
    created = FilterStatus(filter_id=row.id, status_id=target.id)
    await repo.add(session, created)
    await _filters_changed(uow, account_id)
    return created


async def show_filter_status(session: AsyncSession, account_id: int, row_id: int) -> FilterStatus:
    found = await repo.get_filter_status(session, account_id, row_id)
    if found is None:
        raise NotFound()
    return found[0]


async def delete_filter_status(uow: UnitOfWork, account_id: int, row_id: int) -> None:
    row = await show_filter_status(uow.session, account_id, row_id)
    await repo.remove(uow.session, row)
    await _filters_changed(uow, account_id)


# -- v1 ---------------------------------------------------------------------------------------


@dataclass
class V1Input:
    phrase: str | None = None
    context: list[str] | None = None
    irreversible: bool | None = None
    whole_word: bool | None = None
    expires_in: int | Unset | None = UNSET


async def list_v1(session: AsyncSession, account_id: int) -> list[tuple[Filter, FilterKeyword]]:
    return [(row, keyword) for keyword, row in await repo.keywords_of_account(session, account_id)]


async def show_v1(session: AsyncSession, account_id: int, keyword_id: int) -> tuple[Filter, FilterKeyword]:
    found = await repo.get_keyword(session, account_id, keyword_id)
    if found is None:
        raise NotFound()
    keyword, row = found
    return row, keyword


async def create_v1(uow: UnitOfWork, account_id: int, data: V1Input) -> tuple[Filter, FilterKeyword]:
    phrase = _check_keyword(data.phrase)
    row = Filter(
        account_id=account_id,
        title=_check_title(phrase),
        context=_check_context(data.context or []),
        action="hide" if data.irreversible else "warn",
    )
    _apply_expiry(row, data.expires_in)
    await repo.add(uow.session, row)
    keyword = FilterKeyword(
        filter_id=row.id, keyword=phrase, whole_word=True if data.whole_word is None else data.whole_word
    )
    await repo.add(uow.session, keyword)
    await _filters_changed(uow, account_id)
    return row, keyword


async def update_v1(
    uow: UnitOfWork, account_id: int, keyword_id: int, data: V1Input
) -> tuple[Filter, FilterKeyword]:
    """Keyword fields change freely; filter fields only while the filter has this one keyword."""
    session = uow.session
    row, keyword = await show_v1(session, account_id, keyword_id)
    if data.phrase is not None:
        keyword.keyword = _check_keyword(data.phrase)
    if data.whole_word is not None:
        keyword.whole_word = data.whole_word
    before = (row.title, list(row.context or []), row.action, row.expires_at)
    if data.phrase is not None:
        row.title = _check_title(data.phrase)
    if data.context is not None:
        row.context = _check_context(data.context)
    if data.irreversible is not None:
        row.action = "hide" if data.irreversible else "warn"
    _apply_expiry(row, data.expires_in)
    changed = before != (row.title, list(row.context or []), row.action, row.expires_at)
    if changed and await repo.count_keywords(session, row.id) > 1:
        raise Unprocessable(MULTIPLE_KEYWORDS)
    await session.flush()
    await _filters_changed(uow, account_id)
    return row, keyword


async def delete_v1(uow: UnitOfWork, account_id: int, keyword_id: int) -> None:
    _, keyword = await show_v1(uow.session, account_id, keyword_id)
    await repo.remove(uow.session, keyword)
    await _filters_changed(uow, account_id)
