"""Verified profile links: a field whose value is a web page that links back to the profile.

As on Mastodon, a profile field whose value is one http(s) URL is verified by reading that page
and finding an `<a>` or `<link>` whose `rel` contains `me` and whose `href` is the account's
profile page (its `url`) or its id (`uri`). The field's `verified_at` is then set; a field
whose value changes loses it (`service.apply_profile_update`, `remote.upsert_remote_account`).
A remote server's `verified_at` is never believed: we read the page ourselves.

When a profile's fields change, `links_changed` enqueues one `accounts.verify_link` job per
unverified verifiable value (deduplicated per account, value and hour, so saving a profile
again and again fetches a page at most once an hour). The job fetches the page with no unit of
work open (`cards/fetch.fetch_page`: the outbound guard, a deadline, a 1 MB cap, HTML only),
then marks the fields in one short unit of work, only those whose value is still the one it
verified.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from kinfolk.config import Settings
from kinfolk.db.database import Database, UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.cards.fetch import fetch_page
from kinfolk.infra.fetch import FetchError
from kinfolk.kernel.clock import iso, utcnow
from kinfolk.kernel.uris import Uris

log = logging.getLogger("kinfolk.accounts")

VERIFY_JOB = "accounts.verify_link"
# Longer values are not links anyone types into a profile field (Mastodon's field limit).
MAX_LINK = 255
# `rel="me"` links read from one page: a page of a million links costs no more than this.
MAX_REL_ME_LINKS = 100
USER_AGENT = "Kinfolk (profile link verification; +https://joinmastodon.org/) Bot"
_SLOT_SECONDS = 3600


class _Text(HTMLParser):
    """A field value's HTML: its top-level elements, its first link's href, its whole text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.top_level: list[str] = []
        self.href: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.top_level.append(tag)
            if tag == "a":
                self.href = dict(attrs).get("href")
        if tag not in ("br", "img", "hr", "wbr"):
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "img", "hr", "wbr"):
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        if self.depth == 0 and data.strip():
            self.top_level.append("#text")
        self.text.append(data)


def _web_url(value: str) -> str | None:
    value = value.strip()
    if not value or len(value) > MAX_LINK or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def link_of(account: Account, field: dict[str, Any]) -> str | None:
    """The URL a field would be verified by, or None when it is not one web link.

    A local field's typed text must be the URL; a remote field's HTML must be one link whose
    text is its href (as servers render a bare URL), so a link hidden behind other words is not
    shown as verified."""
    if account.domain is None:
        source = field.get("source")
        return _web_url(source) if isinstance(source, str) else None
    value = field.get("value")
    if not isinstance(value, str) or len(value) > 4 * MAX_LINK:
        return None
    reader = _Text()
    reader.feed(value)
    reader.close()
    if reader.top_level != ["a"] or reader.href is None or "".join(reader.text).strip() != reader.href:
        return None
    return _web_url(reader.href)


class _RelMe(HTMLParser):
    """The hrefs of a page's `<a>` and `<link>` elements whose `rel` contains `me`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link") or len(self.hrefs) >= MAX_REL_ME_LINKS:
            return
        values = dict(attrs)
        rel, href = values.get("rel"), values.get("href")
        if rel and href and "me" in rel.lower().split():
            self.hrefs.append(href.strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def links_back(page: str, targets: Iterable[str]) -> bool:
    """Whether the page has a rel="me" link to one of `targets` (compared case-insensitively,
    as Mastodon compares them)."""
    wanted = {t.lower() for t in targets if t}
    reader = _RelMe()
    reader.feed(page)
    reader.close()
    return any(href.lower() in wanted for href in reader.hrefs)


def _dedup_key(account_id: int, link: str) -> str:
    digest = hashlib.sha256(link.encode()).hexdigest()[:32]
    slot = int(utcnow().timestamp()) // _SLOT_SECONDS
    return f"verify-link:{account_id}:{digest}:{slot}"


async def links_changed(uow: UnitOfWork, account: Account) -> None:
    """The account's fields were written: each unverified field that is a web link is queued
    for verification (in the caller's transaction, so only if its change commits)."""
    if account.suspended_at is not None:
        return
    queued: set[str] = set()
    for field in account.fields or []:
        if not isinstance(field, dict) or field.get("verified_at"):
            continue
        link = link_of(account, field)
        if link is None or link in queued:
            continue
        queued.add(link)
        await uow.enqueue(
            VERIFY_JOB, {"account_id": account.id, "link": link}, dedup_key=_dedup_key(account.id, link)
        )


def kept_verifications(old: list[Any] | None, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new` fields with the `verified_at` of the old field of the same name and value (a
    changed value is verified again, or not)."""
    previous = {
        (f.get("name"), f.get("value")): f.get("verified_at") for f in old or [] if isinstance(f, dict)
    }
    return [{**f, "verified_at": previous.get((f.get("name"), f.get("value")))} for f in new]


async def verify_link(
    settings: Settings, uris: Uris, db: Database, write: UnitOfWork, account_id: int, link: str
) -> bool:
    """Read the page at `link` (no transaction open) and, if it links back, mark the account's
    fields with that link verified in `write`. True when some field was marked.

    Raises FetchError when the page could not be read and asking again may help."""
    async with db.uow(write=False) as read:
        account = await read.session.get(Account, account_id)
        if account is None or account.suspended_at is not None:
            return False
        if not any(_pending(account, f, link) for f in account.fields or []):
            return False
        targets = [uris.account_page(account), uris.account_id(account)]
    try:
        _final, page = await fetch_page(settings, link, user_agent=USER_AGENT)
    except FetchError as exc:
        if not exc.permanent:
            raise
        log.info("profile link %s not verified: %s", link, exc.reason)
        return False
    if not links_back(page, targets):
        log.info("profile link %s does not link back to %s", link, targets[0])
        return False
    row = await write.session.get(Account, account_id, with_for_update=True)
    if row is None or row.suspended_at is not None:
        return False
    if not any(_pending(row, f, link) for f in row.fields or []):
        return False  # the value changed (or was verified) while the page was read
    now = iso(utcnow())
    row.fields = [{**f, "verified_at": now} if _pending(row, f, link) else f for f in row.fields or []]
    row.updated_at = utcnow()  # renderings of the account kept elsewhere are stale now
    await write.session.flush()
    return True


def _pending(account: Account, field: Any, link: str) -> bool:
    return isinstance(field, dict) and not field.get("verified_at") and link_of(account, field) == link
