"""Remote accounts' avatars and headers, copied here under the remote-media rules.

An actor's `icon` and `image` URLs are kept as `avatar_remote_url` and `header_remote_url`.
When one is new (a new account, or the URL changed), `upsert_remote_account` forgets the old
copy and enqueues `accounts.copy_remote_image` in its own transaction (`image_changed`). The
job downloads the picture with no transaction open (`media/remote.fetch_image`: private
addresses refused, Mastodon's 8 MB profile-picture limit, the remote-media deadline), processes
it as an uploaded avatar or header is (`infra/images`: sniffed, bomb-guarded, first frame only,
cropped, metadata stripped), stores it, and points the account at the copy only if the URL is
still the one it fetched. Nothing is fetched for a server whose media we reject, for a suspended
account, or when `KINFOLK_CACHE_REMOTE_MEDIA` is off. Until a copy exists (and when copying
failed) the account entity shows the remote URL if it is http(s), else the default picture.
A copy is made once per URL: only a new URL copies again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.profile import PROFILE_IMAGE_MAX_BYTES
from kinfolk.domain.accounts.service import StoredFiles, discard_files, store_profile_image
from kinfolk.domain.media.remote import DownloadError, fetch_image
from kinfolk.domain.moderation.domain_blocks import policy_for
from kinfolk.infra.images import InvalidImage, ProcessedImage, process_avatar, process_header
from kinfolk.infra.storage import Storage

log = logging.getLogger("kinfolk.media")

COPY_JOB = "accounts.copy_remote_image"
REMOVE_FILES_JOB = "media.remove_files"


@dataclass(frozen=True)
class Picture:
    """Where one kind of profile picture lives on the account row, and how it is processed."""

    remote_column: str
    key_column: str
    folder: str
    process: Callable[[bytes], ProcessedImage]


PICTURES: dict[str, Picture] = {
    "avatar": Picture("avatar_remote_url", "avatar_key", "avatars", process_avatar),
    "header": Picture("header_remote_url", "header_key", "headers", process_header),
}


async def image_changed(uow: UnitOfWork, account: Account, which: str, old_key: str | None) -> None:
    """The account's `which` picture has a new remote URL (already set): the copy of the old
    one goes (its file after the commit), and the new one is queued for copying."""
    picture = PICTURES[which]
    if old_key:
        await uow.enqueue(REMOVE_FILES_JOB, {"keys": [old_key]})
    url = getattr(account, picture.remote_column)
    if url:
        await uow.enqueue(COPY_JOB, {"account_id": account.id, "image": which, "url": url})


def _wanted(account: Account | None, picture: Picture, url: str) -> bool:
    """Whether `url` is still the account's picture and has no copy yet."""
    return (
        account is not None
        and account.domain is not None
        and account.suspended_at is None
        and getattr(account, picture.remote_column) == url
        and getattr(account, picture.key_column) is None
    )


async def copy_remote_image(
    settings: Settings,
    storage: Storage,
    db_uow: UnitOfWork,
    account_id: int,
    which: str,
    url: str,
    *,
    last_attempt: bool,
) -> None:
    """Copy one remote profile picture, then record it in `db_uow` (see the module).

    A file that cannot be had or is not a picture leaves the account showing the remote URL;
    network trouble is retried while attempts remain."""
    picture = PICTURES[which]
    async with db_uow.db.uow(write=False) as read:
        account = await read.session.get(Account, account_id)
        if not _wanted(account, picture, url) or not settings.cache_remote_media:
            return
        assert account is not None
        if (await policy_for(read.session, account.domain)).reject_media:
            return
    try:
        image = await fetch_image(settings, url, picture.process, max_bytes=PROFILE_IMAGE_MAX_BYTES)
    except DownloadError as exc:
        if exc.transient and not last_attempt:
            raise
        log.info("the %s of account %d was not copied from %s: %s", which, account_id, url[:200], exc)
        return
    except InvalidImage as exc:
        log.info("the %s of account %d at %s %s", which, account_id, url[:200], exc)
        return
    files = StoredFiles()
    try:
        key = await store_profile_image(storage, image, picture.folder, account_id, files)
        row = await db_uow.session.get(Account, account_id, with_for_update=True, populate_existing=True)
        if not _wanted(row, picture, url):
            # Changed meanwhile: the newer URL has its own job.
            await discard_files(storage, files.written)
            return
        setattr(row, picture.key_column, key)
        await db_uow.session.flush()
    except Exception:
        await discard_files(storage, files.written)
        raise
