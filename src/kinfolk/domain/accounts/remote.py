"""Remote accounts: the one way an actor from another server becomes (or refreshes) a row here.

Federation parses an actor document into `RemoteAccountData` (HTML already sanitised, URLs
already checked against the actor's origin) and calls `upsert_remote_account`; tests make their
remote accounts the same way (`tests/remote.py`), so no remote row is ever made by hand.

Identity is the actor's id (`uri`). The handle (`acct_key`, lower(username)@domain) belongs to
the newest actor that claims it, as on Mastodon: an actor seen under a handle another id held
takes it over, and the older row gives the handle up (it stays, with its follows and statuses,
reachable by its id). A local account is never touched from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from kinfolk.db.database import UnitOfWork
from kinfolk.db.upsert import insert_for
from kinfolk.domain.accounts import links, remote_images
from kinfolk.domain.accounts.models import Account, AccountStats
from kinfolk.domain.accounts.repo import acct_key
from kinfolk.domain.emojis.service import RemoteEmoji, store_remote_emojis
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable
from kinfolk.kernel.ids import new_id

# Column widths and the bounds a remote server is held to. Plain text is cut to fit; an id or
# URL cannot be cut without naming something else, so one too long refuses the actor.
MAX_USERNAME = 255
MAX_DOMAIN = 255
MAX_DISPLAY_NAME = 255
MAX_NOTE = 100_000
MAX_URL = 1024
MAX_FIELDS = 16
MAX_FIELD_TEXT = 2_047
MAX_ALIASES = 20
MAX_KEY_PEM = 16_384
ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")


class RemoteAccountRefused(Unprocessable):
    """The actor cannot be stored as given; nothing was written."""


@dataclass
class RemoteAccountData:
    """An actor as federation read it. `domain` is its handle's domain: the lower-cased host of
    its id, or another domain WebFinger confirmed (`handle_checked`: the handle was asked for
    just now; when it was not, a row stored under another domain keeps its handle until the
    next check). `note` and the fields' values are sanitised HTML; counts are None when the
    collections did not say."""

    uri: str
    username: str
    domain: str
    display_name: str = ""
    note: str = ""
    fields: list[dict[str, Any]] = field(default_factory=list)
    url: str | None = None
    inbox_url: str | None = None
    outbox_url: str | None = None
    shared_inbox_url: str | None = None
    followers_url: str | None = None
    following_url: str | None = None
    featured_url: str | None = None
    featured_tags_url: str | None = None
    public_key_pem: str = ""
    public_key_id: str | None = None
    ed25519_key_id: str | None = None
    ed25519_public_key: str | None = None
    avatar_remote_url: str | None = None
    header_remote_url: str | None = None
    locked: bool = False
    bot: bool = False
    group: bool = False
    discoverable: bool = False
    indexable: bool = False
    actor_type: str = "Person"
    published: datetime | None = None
    followers_count: int | None = None
    following_count: int | None = None
    statuses_count: int | None = None
    also_known_as: list[str] = field(default_factory=list)
    moved_to_uri: str | None = None
    fetched_at: datetime | None = None
    handle_checked: bool = False
    # The custom emojis of its name, bio and fields (kept per shortcode for its domain).
    emojis: list[RemoteEmoji] = field(default_factory=list)


def _url(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_URL:
        raise RemoteAccountRefused(f"Validation failed: {what} is too long")
    return value


def _count(value: int | None) -> int | None:
    # Some servers hide their counts as negative numbers or send absurd ones.
    return None if value is None else max(0, min(int(value), 2**62))


def _checked(data: RemoteAccountData) -> dict[str, Any]:
    """The account columns for `data`, bounded; refuses what cannot be stored faithfully."""
    username = data.username.strip()
    domain = data.domain.strip().lower().rstrip(".")
    if not username or len(username) > MAX_USERNAME or "@" in username:
        raise RemoteAccountRefused("Validation failed: Username is invalid")
    if not domain or len(domain) > MAX_DOMAIN or "/" in domain or "@" in domain:
        raise RemoteAccountRefused("Validation failed: Domain is invalid")
    uri = _url(data.uri, "Id")
    if uri is None:
        raise RemoteAccountRefused("Validation failed: an actor needs its id")
    if len(data.note) > MAX_NOTE:
        raise RemoteAccountRefused("Validation failed: Note is too long")
    if len(data.public_key_pem) > MAX_KEY_PEM:
        raise RemoteAccountRefused("Validation failed: Public key is too long")
    # The Ed25519 key only with its id (it is looked up by that id); a Multikey is 48 characters.
    ed25519_public_key = data.ed25519_public_key if data.ed25519_key_id else None
    if ed25519_public_key is not None and len(ed25519_public_key) > 128:
        raise RemoteAccountRefused("Validation failed: Public key is too long")
    fields = [
        {
            "name": str(f.get("name", ""))[:MAX_FIELD_TEXT],
            "value": str(f.get("value", ""))[:MAX_FIELD_TEXT],
            # Its server's word is not taken: we read the page ourselves (`links.py`).
            "verified_at": None,
        }
        for f in data.fields[:MAX_FIELDS]
    ]
    aliases = [a for a in dict.fromkeys(data.also_known_as) if a and len(a) <= MAX_URL][:MAX_ALIASES]
    return {
        "uri": uri,
        "username": username,
        "domain": domain,
        "acct_key": acct_key(username, domain),
        "display_name": data.display_name[:MAX_DISPLAY_NAME],
        "note": data.note,
        "fields": fields,
        "url": _url(data.url, "URL"),
        "inbox_url": _url(data.inbox_url, "Inbox"),
        "outbox_url": _url(data.outbox_url, "Outbox"),
        "shared_inbox_url": _url(data.shared_inbox_url, "Shared inbox"),
        "followers_url": _url(data.followers_url, "Followers"),
        "following_url": _url(data.following_url, "Following"),
        "featured_url": _url(data.featured_url, "Featured"),
        "featured_tags_url": _url(data.featured_tags_url, "Featured tags"),
        "public_key_pem": data.public_key_pem,
        "public_key_id": _url(data.public_key_id, "Key id"),
        "ed25519_key_id": _url(data.ed25519_key_id, "Key id") if ed25519_public_key else None,
        "ed25519_public_key": ed25519_public_key,
        "avatar_remote_url": _url(data.avatar_remote_url, "Avatar"),
        "header_remote_url": _url(data.header_remote_url, "Header"),
        "locked": data.locked,
        "bot": data.bot or data.actor_type in ("Service", "Application"),
        "group": data.group or data.actor_type == "Group",
        "discoverable": data.discoverable,
        "indexable": data.indexable,
        "actor_type": data.actor_type if data.actor_type in ACTOR_TYPES else "Person",
        "also_known_as": aliases,
        "moved_to_uri": _url(data.moved_to_uri, "Moved to"),
        "fetched_at": data.fetched_at or utcnow(),
    }


def domain_of(account: Account) -> str:
    assert account.domain is not None
    return account.domain


async def upsert_remote_account(uow: UnitOfWork, data: RemoteAccountData) -> Account:
    """Insert or refresh the remote account `data` describes, with its counters row; an avatar
    or header URL that is new is queued for copying (`remote_images.py`), and its custom
    emojis are kept (`emojis/service.store_remote_emojis`).

    Found by id first, then by handle; an actor whose handle another row held takes it (the
    newest actor wins, as on Mastodon), and a row found only by handle takes the new id (the
    server gave the handle a new actor). Raises `RemoteAccountRefused` for bad data or when the
    id or handle is a local account's, having written nothing."""
    values = _checked(data)
    session = uow.session
    if not data.handle_checked:
        held = (
            await session.execute(select(Account).where(Account.uri == values["uri"]))
        ).scalar_one_or_none()
        if held is not None and held.domain is not None and held.domain != values["domain"]:
            # A handle WebFinger confirmed on another domain stands until it is checked again.
            values.update(username=held.username, domain=held.domain, acct_key=held.acct_key)
    rows = list(
        (
            await session.execute(
                select(Account).where(
                    or_(Account.uri == values["uri"], Account.acct_key == values["acct_key"])
                )
            )
        ).scalars()
    )
    if any(row.domain is None for row in rows):
        raise RemoteAccountRefused("Validation failed: a local account is not updated from elsewhere")
    by_uri = next((r for r in rows if r.uri == values["uri"]), None)
    by_handle = next((r for r in rows if r.acct_key == values["acct_key"]), None)
    account = by_uri or by_handle
    if by_handle is not None and account is not by_handle:
        # The handle moves to this actor: the older one keeps its row under a key nobody types.
        by_handle.acct_key = f"{values['acct_key']}#{by_handle.id}"[:520]
        await session.flush()
    counts = {
        name: value
        for name in ("followers_count", "following_count", "statuses_count")
        if (value := _count(getattr(data, name))) is not None
    }
    if account is None:
        account = Account(id=new_id(), created_at=data.published or utcnow(), **values)
        session.add(account)
        session.add(
            AccountStats(
                account_id=account.id,
                statuses_count=counts.get("statuses_count", 0),
                followers_count=counts.get("followers_count", 0),
                following_count=counts.get("following_count", 0),
            )
        )
        await session.flush()
        for which in remote_images.PICTURES:
            await remote_images.image_changed(uow, account, which, None)
        await links.links_changed(uow, account)
        await store_remote_emojis(uow, domain_of(account), data.emojis)
        return account
    changed = [
        (which, getattr(account, picture.key_column))
        for which, picture in remote_images.PICTURES.items()
        if getattr(account, picture.remote_column) != values[picture.remote_column]
    ]
    values["fields"] = links.kept_verifications(account.fields, values["fields"])
    fields_changed = values["fields"] != account.fields
    for name, value in values.items():
        if getattr(account, name) != value:
            setattr(account, name, value)
    for which, _ in changed:
        setattr(account, remote_images.PICTURES[which].key_column, None)
    await session.flush()
    for which, old_key in changed:
        await remote_images.image_changed(uow, account, which, old_key)
    if fields_changed:
        await links.links_changed(uow, account)
    await store_remote_emojis(uow, domain_of(account), data.emojis)
    # The counters row is made if an older row lacked it; counts the actor did not give stay.
    insert = insert_for(session, AccountStats).values(account_id=account.id, **counts)
    await session.execute(
        insert.on_conflict_do_update(index_elements=["account_id"], set_=counts)
        if counts
        else insert.on_conflict_do_nothing(index_elements=["account_id"])
    )
    return account
