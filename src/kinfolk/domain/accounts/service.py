"""Rules for accounts: usernames as Mastodon allows them, passwords, keys, creation, who may be
seen, and profile updates (checked in full before anything is written)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts import repo
from kinfolk.domain.accounts.models import ROLES, Account, AccountStats, User
from kinfolk.domain.accounts.profile import (
    PROFILE_IMAGE_MAX_BYTES,
    REMOVE,
    ImageInput,
    ProfileChanges,
    ValidationErrors,
    parse_profile_changes,
)
from kinfolk.infra.images import InvalidImage, ProcessedImage, process_avatar, process_header
from kinfolk.infra.storage import Storage
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.multikey import generate_ed25519_key
from kinfolk.kernel.uris import Uris
from kinfolk.text.plain_to_html import MentionKey, MentionLink, extract_mentions, plain_to_html

log = logging.getLogger("kinfolk.accounts")

USERNAME_RE = re.compile(r"^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$", re.IGNORECASE)
USERNAME_MAX = 30
# An address as Mastodon's mail parser takes it: a dot-atom local part, '@', and a dot-atom
# host whose labels need no dot between them (`email@localhost12345` is an address), or a
# bracketed IP literal. Quoted local parts, display names and spaces are refused.
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
EMAIL_RE = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])\Z")
EMAIL_MAX = 320
PASSWORD_MIN = 8
PASSWORD_MAX = 72
# Names that would shadow server paths or impersonate the server.
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "support",
        "help",
        "root",
        "webmaster",
        "administrator",
        "mod",
        "moderator",
        "api",
        "oauth",
        "well-known",
        "inbox",
        "actor",
        "instance",
        "about",
        "settings",
        "auth",
        "users",
    }
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_key_pair() -> tuple[str, str]:
    """An RSA-2048 key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo) for HTTP signatures."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def validate_username(username: str, *, allow_reserved: bool = False) -> list[str]:
    problems = []
    if not username:
        problems.append("can't be blank")
    elif len(username) > USERNAME_MAX:
        problems.append(f"is too long (maximum is {USERNAME_MAX} characters)")
    elif not USERNAME_RE.match(username):
        problems.append("must contain only letters, numbers, underscores and inner dots or dashes")
    elif not allow_reserved and username.lower() in RESERVED_USERNAMES:
        problems.append("is reserved")
    return problems


@dataclass
class NewAccount:
    username: str
    email: str
    password: str
    role: str = "user"
    approved: bool = True
    confirmed: bool = True
    locale: str = "en"
    reason: str = ""
    sign_up_ip: str | None = None
    allow_reserved: bool = False
    locked: bool = False
    discoverable: bool = True
    indexable: bool = False


async def validate_new_account(session: AsyncSession, new: NewAccount) -> dict[str, list[dict[str, str]]]:
    """Every problem with `new`, keyed by field as Mastodon's `details` (empty when valid)."""
    errors: dict[str, list[dict[str, str]]] = {}

    def fail(field: str, code: str, description: str) -> None:
        errors.setdefault(field, []).append({"error": code, "description": description})

    username = new.username.strip()
    email = new.email.strip().lower()
    if not username:
        fail("username", "ERR_BLANK", "can't be blank")
    for problem in validate_username(username, allow_reserved=new.allow_reserved) if username else []:
        fail("username", "ERR_INVALID" if "reserved" not in problem else "ERR_RESERVED", problem)
    if not errors.get("username") and await repo.get_by_username(session, username):
        fail("username", "ERR_TAKEN", "is already taken")
    if not email:
        fail("email", "ERR_BLANK", "can't be blank")
    elif not EMAIL_RE.match(email) or len(email) > EMAIL_MAX:
        fail("email", "ERR_INVALID", "is invalid")
    elif await repo.get_user_by_email(session, email):
        fail("email", "ERR_TAKEN", "is already taken")
    if not new.password:
        fail("password", "ERR_BLANK", "can't be blank")
    elif len(new.password) < PASSWORD_MIN:
        fail("password", "ERR_TOO_SHORT", f"is too short (minimum is {PASSWORD_MIN} characters)")
    elif len(new.password) > PASSWORD_MAX:
        fail("password", "ERR_TOO_LONG", f"is too long (maximum is {PASSWORD_MAX} characters)")
    if new.role not in ROLES:
        fail("role", "ERR_INCLUSION", f"must be one of {', '.join(ROLES)}")
    return errors


def validation_failed(errors: dict[str, list[dict[str, str]]]) -> Unprocessable:
    """Mastodon's 422: a sentence naming each problem, and `details` per field."""
    summary = ", ".join(
        f"{field.replace('_', ' ').capitalize()} {item['description']}"
        for field, items in errors.items()
        for item in items
    )
    return Unprocessable(f"Validation failed: {summary}", details=errors)


async def create_local_account(session: AsyncSession, new: NewAccount, *, uris: Uris) -> tuple[Account, User]:
    """Validate and insert an account, its user and counters; raises 422 naming each bad field."""
    errors = await validate_new_account(session, new)
    if errors:
        raise validation_failed(errors)
    return await _insert_local_account(session, new, uris)


def local_addresses(uris: Uris, username: str) -> dict[str, str]:
    """The ids and collection URLs a local account stores, as a remote one stores its own, so
    that looking an actor up by id (federation) or rendering it needs no special case."""
    return {
        "uri": uris.actor(username),
        "url": uris.profile(username),
        "inbox_url": uris.inbox(username),
        "outbox_url": uris.outbox(username),
        "shared_inbox_url": uris.shared_inbox(),
        "followers_url": uris.followers(username),
    }


async def store_local_addresses(session: AsyncSession, uris: Uris) -> int:
    """Fill the addresses of local accounts made before they were stored; returns how many.

    Idempotent (only rows without a `uri` are touched), and run by `kinfolk migrate` and at
    start-up rather than by a migration, since only the running configuration knows the domain.
    """
    missing = await repo.local_accounts_without_uri(session)
    if missing:
        await repo.set_addresses(
            session, [{"id": account_id, **local_addresses(uris, name)} for account_id, name in missing]
        )
    return len(missing)


async def _insert_local_account(session: AsyncSession, new: NewAccount, uris: Uris) -> tuple[Account, User]:
    username = new.username.strip()
    email = new.email.strip().lower()
    private_pem, public_pem = await asyncio.to_thread(generate_key_pair)
    ed25519_private, ed25519_public = generate_ed25519_key()
    password_hash = await asyncio.to_thread(hash_password, new.password)
    account = Account(
        username=username,
        domain=None,
        acct_key=repo.acct_key(username, None),
        public_key_pem=public_pem,
        private_key_pem=private_pem,
        ed25519_private_key=ed25519_private,
        ed25519_public_key=ed25519_public,
        locked=new.locked,
        discoverable=new.discoverable,
        indexable=new.indexable,
        fields=[],
        **local_addresses(uris, username),
    )
    session.add(account)
    await session.flush()
    user = User(
        account_id=account.id,
        email=email,
        password_hash=password_hash,
        role=new.role,
        approved=new.approved,
        confirmed_at=utcnow() if new.confirmed else None,
        locale=new.locale,
        reason=new.reason,
        sign_up_ip=new.sign_up_ip,
        settings={},
    )
    session.add(user)
    session.add(AccountStats(account_id=account.id))
    await session.flush()
    return account, user


# --- viewing accounts -----------------------------------------------------------------------

_MAX_ID = (1 << 63) - 1


def parse_account_id(value: str) -> int | None:
    """Ids are strings in the API; anything not a positive 64-bit integer names no account."""
    if not value or len(value) > 19 or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


def is_hidden(account: Account, user: User | None) -> bool:
    """Local accounts still awaiting approval do not exist to the outside yet (as in Mastodon),
    and deleted accounts (`deletion.py`) no longer do."""
    return account.deleted_at is not None or (account.is_local and (user is None or not user.approved))


async def get_viewable_account(session: AsyncSession, account_id: str) -> Account:
    """The account behind an API id, or 404. Suspended accounts are returned (rendered emptied)."""
    parsed = parse_account_id(account_id)
    found = await repo.get_account_with_user(session, parsed) if parsed is not None else None
    if found is None or is_hidden(*found):
        raise NotFound("Record not found")
    return found[0]


async def get_viewable_accounts(session: AsyncSession, account_ids: list[str]) -> list[Account]:
    """Several accounts in the order asked, unknown and hidden ones left out, in two queries."""
    wanted = [i for i in (parse_account_id(v) for v in account_ids) if i is not None]
    accounts = await repo.get_accounts(session, list(dict.fromkeys(wanted)))
    users = await repo.get_users_for_accounts(session, [a.id for a in accounts.values() if a.is_local])
    return [
        accounts[i]
        for i in dict.fromkeys(wanted)
        if i in accounts and not is_hidden(accounts[i], users.get(i))
    ]


def split_acct(acct: str) -> tuple[str, str | None]:
    """`user`, `@user`, `user@host` or `@user@host` as (username, lower host or None)."""
    text = acct.strip().removeprefix("@")
    username, _, host = text.partition("@")
    return username, (host.strip().lower().rstrip(".") or None)


async def lookup_account(session: AsyncSession, acct: str, *, local_domain: str) -> Account:
    """An account by handle, without WebFinger: local ones, and remote ones we already know."""
    username, host = split_acct(acct)
    if not username:
        raise NotFound("Record not found")
    if host == local_domain.lower():
        host = None
    found = await repo.get_by_username_with_user(session, username, host)
    if found is None or is_hidden(*found):
        raise NotFound("Record not found")
    return found[0]


# --- updating a profile ---------------------------------------------------------------------


@dataclass
class PreparedProfileUpdate:
    """A profile update that passed every check; images are already decoded and re-encoded."""

    changes: ProfileChanges
    avatar: ProcessedImage | Literal["remove"] | None
    header: ProcessedImage | Literal["remove"] | None


@dataclass
class StoredFiles:
    """Files an update wrote and files it made obsolete: the caller deletes the first if the
    transaction fails and the second once it has committed."""

    written: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


async def _prepare_image(
    value: ImageInput,
    name: str,
    process: Callable[[bytes], ProcessedImage],
    errors: ValidationErrors,
) -> ProcessedImage | Literal["remove"] | None:
    if value is None or value == REMOVE:
        return value
    if len(value) > PROFILE_IMAGE_MAX_BYTES:
        limit_mb = PROFILE_IMAGE_MAX_BYTES // (1024 * 1024)
        errors.add(name, "ERR_TOO_LARGE", f"must be smaller than {limit_mb} MB")
        return None
    try:
        return await asyncio.to_thread(process, value)
    except InvalidImage as exc:
        errors.add(name, "ERR_INVALID", str(exc))
        return None


async def prepare_profile_update(
    params: Mapping[str, Any], *, avatar: ImageInput = None, header: ImageInput = None
) -> PreparedProfileUpdate:
    """Check everything before anything changes, so a bad field leaves the profile untouched.

    Runs outside any transaction: decoding images takes long enough that holding the
    database's write lock meanwhile would stall every other writer.
    """
    errors = ValidationErrors()
    changes = parse_profile_changes(params, errors)
    avatar_image = await _prepare_image(avatar, "avatar", process_avatar, errors)
    header_image = await _prepare_image(header, "header", process_header, errors)
    errors.raise_if_any()
    return PreparedProfileUpdate(changes, avatar_image, header_image)


async def resolve_mentions(
    session: AsyncSession, texts: list[str], *, uris: Uris, local_domain: str
) -> dict[MentionKey, MentionLink]:
    """Mentions in `texts` that name accounts we know, in one query."""
    keys = {key for text in texts for key in extract_mentions(text, local_domain=local_domain)}
    if not keys:
        return {}
    accounts = await repo.get_by_acct_keys(session, [f"{u}@{d or ''}" for u, d in keys])
    return {
        (a.username.lower(), a.domain): MentionLink(uris.account_page(a), a.username, a.acct)
        for a in accounts
        if a.suspended_at is None
    }


def _render_text(
    text: str, *, multiline: bool, mentions: dict[MentionKey, MentionLink], uris: Uris, local_domain: str
) -> str:
    return plain_to_html(
        text,
        multiline=multiline,
        rel_me=not multiline,
        with_domains=not multiline,
        tag_url=uris.tag,
        mentions=mentions,
        local_domain=local_domain,
    )


async def store_profile_image(
    storage: Storage, image: ProcessedImage, kind: str, account_id: int, files: StoredFiles
) -> str:
    """Store an avatar or header (`kind`: "avatars" or "headers") under a fresh key: one
    naming scheme for uploaded pictures and for copies of remote accounts' pictures."""
    key = f"accounts/{kind}/{account_id}/{secrets.token_hex(16)}.{image.extension}"
    await storage.put(key, image.data, image.content_type)
    files.written.append(key)
    return key


async def apply_profile_update(
    session: AsyncSession,
    storage: Storage,
    account_id: int,
    prepared: PreparedProfileUpdate,
    *,
    uris: Uris,
    local_domain: str,
    files: StoredFiles,
) -> tuple[Account, User]:
    """Write a prepared update to the account and its user (in the caller's transaction)."""
    account, user = await repo.get_account_with_user(session, account_id) or (None, None)
    if account is None or user is None:
        raise NotFound("Record not found")
    changes = prepared.changes
    texts = [changes.note or ""] + [value for _, value in changes.fields or []]
    mentions = await resolve_mentions(session, texts, uris=uris, local_domain=local_domain)

    def render(text: str, *, multiline: bool) -> str:
        return _render_text(
            text, multiline=multiline, mentions=mentions, uris=uris, local_domain=local_domain
        )

    for attr, image in (("avatar_key", prepared.avatar), ("header_key", prepared.header)):
        if image is None:
            continue
        old_key = getattr(account, attr)
        new_key = None
        if image != REMOVE:
            assert isinstance(image, ProcessedImage)
            kind = "avatars" if attr == "avatar_key" else "headers"
            new_key = await store_profile_image(storage, image, kind, account.id, files)
        if old_key and old_key != new_key:
            files.replaced.append(old_key)
        setattr(account, attr, new_key)

    if changes.display_name is not None:
        account.display_name = changes.display_name
    if changes.note is not None:
        account.note_source = changes.note
        account.note = render(changes.note, multiline=True)
    if changes.fields is not None:
        previous = {(f.get("name"), f.get("source")): f.get("verified_at") for f in account.fields or []}
        account.fields = [
            {
                "name": name,
                "value": render(value, multiline=False),
                "source": value,
                # A verification stays valid only while the link it verified is unchanged.
                "verified_at": previous.get((name, value)),
            }
            for name, value in changes.fields
        ]
    for flag in ("locked", "discoverable", "indexable", "hide_collections"):
        value = getattr(changes, flag)
        if value is not None:
            setattr(account, flag, value)
    # Alt texts stay when their picture is removed or replaced, as in Mastodon.
    if changes.avatar_description is not None:
        account.avatar_description = changes.avatar_description
    if changes.header_description is not None:
        account.header_description = changes.header_description
    if changes.bot is not None:
        account.bot = changes.bot
        if account.actor_type in ("Person", "Service", "Application"):
            account.actor_type = "Service" if changes.bot else "Person"
    if changes.settings or changes.attribution_domains is not None:
        settings = dict(user.settings or {})
        settings.update(changes.settings)
        if changes.attribution_domains is not None:
            settings["attribution_domains"] = changes.attribution_domains
        user.settings = settings
    account.updated_at = utcnow()
    await session.flush()
    return account, user


async def discard_files(storage: Storage, keys: list[str]) -> None:
    """Best-effort removal: a file left behind wastes space, it never breaks a profile."""
    for key in keys:
        try:
            await storage.delete(key)
        except (OSError, ValueError):
            log.warning("could not delete stored file %s", key)
