"""Remote accounts and statuses for tests, made through the same functions federation uses
(`upsert_remote_account`, `store_remote_status`), never as rows by hand: a test of a remote
account sees what a real one would have (its counters row, its ids, the same fan-out)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.remote import RemoteAccountData, upsert_remote_account
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.statuses.store import NewStatus, store_remote_status
from kinfolk.kernel.ids import new_id
from kinfolk.kernel.uris import Uris


async def make_remote_account(container: Container, username: str, domain: str, **fields: Any) -> Account:
    """`bob@remote.example` with Mastodon-shaped ids; `fields` set any other RemoteAccountData field."""
    base = f"https://{domain}"
    data = RemoteAccountData(
        uri=f"{base}/users/{username}",
        username=username,
        domain=domain,
        url=f"{base}/@{username}",
        inbox_url=f"{base}/users/{username}/inbox",
        shared_inbox_url=f"{base}/inbox",
        followers_url=f"{base}/users/{username}/followers",
        following_url=f"{base}/users/{username}/following",
        public_key_id=f"{base}/users/{username}#main-key",
    )
    for name, value in fields.items():
        setattr(data, name, value)
    async with container.db.uow() as uow:
        return await upsert_remote_account(uow, data)


async def make_remote_status(
    container: Container,
    account: Account,
    text: str = "",
    *,
    content: str | None = None,
    visibility: str = "public",
    created_at: datetime | None = None,
    **fields: Any,
) -> Status:
    """A status by the remote `account`, stored as a remote `Create` would store it; `text` is
    shown as one escaped paragraph unless `content` gives the HTML."""
    assert account.uri is not None and account.domain is not None
    number = new_id()
    new = NewStatus(
        local=False,
        uri=f"{account.uri}/statuses/{number}",
        url=f"https://{account.domain}/@{account.username}/{number}",
        content=content if content is not None else f"<p>{html.escape(text)}</p>",
        visibility=visibility,
        created_at=created_at,
        **fields,
    )
    async with container.db.uow() as uow:
        posted = await store_remote_status(uow, Uris(container.settings.base_url), account, new)
    return posted.status
