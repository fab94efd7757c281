"""Mastodon's Account and CredentialAccount entities (4.5 shape, keys in Mastodon's order).

Render lists with `render_accounts`: counters, users and custom emojis for any number of
accounts come from three queries at most, whatever the length of the list.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.custom_emoji import emojis_json
from kinfolk.container import Container
from kinfolk.domain.accounts import repo
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.accounts.profile import attribution_domains, posting_defaults
from kinfolk.domain.collections.service import COLLECTION_LIMIT
from kinfolk.domain.emojis.models import CustomEmoji
from kinfolk.domain.emojis.service import account_text, emojis_for_texts
from kinfolk.kernel.clock import iso_date

MISSING_AVATAR_PATH = "/avatars/original/missing.png"
MISSING_HEADER_PATH = "/headers/original/missing.png"

# Mastodon's built-in roles: ids, names and permission bitmasks as a fresh Mastodon install has
# them. Staff roles are "highlighted", so they show as a badge on profiles.
_ALL_PERMISSIONS = (1 << 20) - 1
_ROLES: dict[str, dict[str, Any]] = {
    "owner": {"id": "3", "name": "Owner", "permissions": str(_ALL_PERMISSIONS), "highlighted": True},
    "admin": {"id": "2", "name": "Admin", "permissions": str(_ALL_PERMISSIONS & ~1), "highlighted": True},
    "moderator": {"id": "1", "name": "Moderator", "permissions": "66844", "highlighted": True},
    "user": {"id": "-99", "name": "", "permissions": "65536", "highlighted": False},
}


def role_json(role: str) -> dict[str, Any]:
    spec = _ROLES.get(role, _ROLES["user"])
    return {
        "id": spec["id"],
        "name": spec["name"],
        "color": "",
        "permissions": spec["permissions"],
        "highlighted": spec["highlighted"],
        "collection_limit": COLLECTION_LIMIT,
    }


def _public_roles(user: User | None) -> list[dict[str, str]]:
    if user is None:
        return []
    spec = _ROLES.get(user.role, _ROLES["user"])
    if not spec["highlighted"]:
        return []
    return [{"id": spec["id"], "name": spec["name"], "color": ""}]


def _image_url(container: Container, key: str | None, remote: str | None, missing_path: str) -> str:
    """Our copy; else a remote account's own URL while it is being copied (or could not be),
    shown only when it is http(s); else the default picture."""
    if key:
        return container.storage.url(key)
    if remote and remote.lower().startswith(("https://", "http://")):
        return remote
    return container.settings.base_url + missing_path


def _fields(account: Account) -> list[dict[str, Any]]:
    return [
        {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": f.get("verified_at")}
        for f in account.fields or []
        if isinstance(f, dict)
    ]


async def account_emojis(session: AsyncSession, accounts: list[Account]) -> list[list[CustomEmoji]]:
    """The custom emojis of each account, in one query (none when no text names one)."""
    return await emojis_for_texts(session, [(a.domain, account_text(a)) for a in accounts])


def account_json(
    account: Account,
    stats: AccountStats | None,
    user: User | None,
    container: Container,
    emojis: list[CustomEmoji] | None = None,
) -> dict[str, Any]:
    """One Account. `user` is the local user behind it (for roles and noindex), if any;
    `emojis` are its custom emojis (`account_emojis`)."""
    base_url = container.settings.base_url
    uris = container.uris
    suspended = account.suspended_at is not None
    if suspended:
        avatar = base_url + MISSING_AVATAR_PATH
        header = base_url + MISSING_HEADER_PATH
    else:
        avatar = _image_url(container, account.avatar_key, account.avatar_remote_url, MISSING_AVATAR_PATH)
        header = _image_url(container, account.header_key, account.header_remote_url, MISSING_HEADER_PATH)
    last_status_at = stats.last_status_at if stats else None
    data: dict[str, Any] = {
        "id": str(account.id),
        "username": account.username,
        "acct": account.acct,
        "display_name": "" if suspended else account.display_name,
        "locked": False if suspended else account.locked,
        "bot": False if suspended else account.bot,
        "discoverable": False if suspended else account.discoverable,
        "indexable": False if suspended else account.indexable,
        "group": account.group,
        "created_at": iso_date(account.created_at),
        "note": "" if suspended else account.note,
        "url": uris.account_page(account),
        # A remote row without its id (half-made) renders a blank uri, never one of ours.
        "uri": uris.account_id(account) if account.is_local or account.uri else "",
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": "" if suspended else account.avatar_description,
        "header": header,
        "header_static": header,
        "header_description": "" if suspended else account.header_description,
        "followers_count": stats.followers_count if stats else 0,
        "following_count": stats.following_count if stats else 0,
        "statuses_count": stats.statuses_count if stats else 0,
        "last_status_at": last_status_at.date().isoformat() if last_status_at else None,
        "hide_collections": account.hide_collections,
    }
    if suspended:
        data["suspended"] = True
    if account.silenced_at is not None:
        data["limited"] = True
    if account.is_local:
        data["noindex"] = bool((user.settings or {}).get("noindex", False)) if user else False
    if account.memorial:
        data["memorial"] = True
    data["emojis"] = [] if suspended else emojis_json(container.storage, emojis or [])
    if account.is_local:
        data["roles"] = [] if suspended else _public_roles(user)
    data["fields"] = [] if suspended else _fields(account)
    return data


async def render_accounts(
    session: AsyncSession, accounts: list[Account], container: Container
) -> list[dict[str, Any]]:
    """Accounts in the order given, with their counters and users loaded in two queries."""
    ids = list(dict.fromkeys(a.id for a in accounts))
    stats = await repo.get_stats(session, ids)
    users = await repo.get_users_for_accounts(session, [a.id for a in accounts if a.is_local])
    emojis = await account_emojis(session, accounts)
    return [
        account_json(a, stats.get(a.id), users.get(a.id), container, found)
        for a, found in zip(accounts, emojis, strict=True)
    ]


async def render_account(session: AsyncSession, account: Account, container: Container) -> dict[str, Any]:
    return (await render_accounts(session, [account], container))[0]


async def render_credential_account(
    session: AsyncSession, account: Account, user: User, container: Container
) -> dict[str, Any]:
    """The signed-in user's own account: Account plus `source` (plain text) and full `role`."""
    stats = (await repo.get_stats(session, [account.id])).get(account.id)
    emojis = (await account_emojis(session, [account]))[0]
    data = account_json(account, stats, user, container, emojis)
    defaults = posting_defaults(user)
    data["source"] = {
        "privacy": defaults.privacy,
        "sensitive": defaults.sensitive,
        "language": defaults.language,
        "note": account.note_source,
        "fields": [
            {
                "name": f.get("name", ""),
                "value": f.get("source", f.get("value", "")),
                "verified_at": f.get("verified_at"),
            }
            for f in account.fields or []
            if isinstance(f, dict)
        ],
        "follow_requests_count": await repo.count_follow_requests(session, account.id),
        "hide_collections": account.hide_collections,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "attribution_domains": attribution_domains(user),
        "quote_policy": defaults.quote_policy,
    }
    data["role"] = role_json(user.role)
    return data
