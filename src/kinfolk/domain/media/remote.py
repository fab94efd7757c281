"""Remote media (attachments of posts from other servers): downloaded with size and time
limits into the same pipeline as uploads, and cached until the retention job forgets them.

Outbound requests never reach private, loopback or link-local addresses unless the operator
listed them (`allowed_private_addresses`): every address a host resolves to is checked, and
literal IPs (which skip the resolver) and every redirect hop are checked too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import aiohttp

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.media import processing, repo, service
from kinfolk.domain.media.models import MEDIA_TYPES, MediaAttachment
from kinfolk.domain.media.processing import MediaError, MediaLimits, Processed
from kinfolk.infra.outbound import DisallowedDestination, check_url, disallowed_cause, guarded_session
from kinfolk.infra.storage import Storage
from kinfolk.kernel.clock import utcnow

log = logging.getLogger("kinfolk.media")

FETCH_JOB = "media.fetch_remote"
TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 3
USER_AGENT = "Kinfolk (media fetcher)"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")


class DownloadError(Exception):
    """The remote file could not be had within the limits; retrying may help if `transient`."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


async def download(
    settings: Settings, url: str, target: Path, *, max_bytes: int, timeout: float = TIMEOUT_SECONDS
) -> str:
    """Stream `url` into `target`, at most `max_bytes` and `timeout` seconds in all (redirects
    included); returns the declared content type."""
    allowed = settings.allowed_private_networks
    deadline = time.monotonic() + timeout
    client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=5, sock_read=10)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    try:
        async with guarded_session(settings, client_timeout, limit=2) as session:
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    check_url(url, allowed)
                except DisallowedDestination as exc:
                    raise DownloadError(str(exc)) from exc
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status >= 500 or response.status == 429:
                        raise DownloadError(f"HTTP {response.status}", transient=True)
                    if response.status != 200:
                        raise DownloadError(f"HTTP {response.status}")
                    if (response.content_length or 0) > max_bytes:
                        raise DownloadError("too large")
                    await _stream(response, target, max_bytes, deadline)
                    return response.headers.get("Content-Type", "")
            raise DownloadError("too many redirects")
    except (aiohttp.ClientConnectorError, DisallowedDestination) as exc:
        # aiohttp passes the resolver's refusal through as it is, or wrapped.
        refused = disallowed_cause(exc)
        if refused is not None:
            raise DownloadError(str(refused)) from exc
        raise DownloadError(f"could not connect: {exc}", transient=True) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DownloadError(f"download failed: {exc.__class__.__name__}", transient=True) from exc


async def _stream(response: aiohttp.ClientResponse, target: Path, max_bytes: int, deadline: float) -> None:
    received = 0
    with target.open("wb") as fh:
        async for chunk in response.content.iter_chunked(1 << 16):
            received += len(chunk)
            if received > max_bytes:
                raise DownloadError("too large")
            if time.monotonic() > deadline:
                raise DownloadError("took too long")
            await asyncio.to_thread(fh.write, chunk)


async def fetch_image(settings: Settings, url: str, process: Callable[[bytes], T], *, max_bytes: int) -> T:
    """Download a remote picture (an avatar, a header, a custom emoji) within `max_bytes` and
    the usual deadline, and hand its bytes to `process` (Pillow work, so in a thread).

    Network only: callers hold no transaction while this runs. Raises `DownloadError` (its
    `transient` says whether a retry may help) and whatever `process` raises for a bad file."""
    async with service.work_dir(settings) as work:
        path = work / "source"
        await download(settings, url, path, max_bytes=max_bytes, timeout=TIMEOUT_SECONDS)
        data = await asyncio.to_thread(path.read_bytes)
    return await asyncio.to_thread(process, data)


async def add_remote_media(
    uow: UnitOfWork,
    settings: Settings,
    *,
    account_id: int,
    remote_url: str,
    media_type: str | None = None,
    description: str | None = None,
    blurhash: str | None = None,
    focus: tuple[float, float] | None = None,
    position: int = 0,
    status_id: int | None = None,
) -> MediaAttachment:
    """A remote post's attachment: shown from its origin at once, and cached by a job."""
    kind = media_type if media_type in MEDIA_TYPES else "unknown"
    media = MediaAttachment(
        account_id=account_id,
        status_id=status_id,
        position=position,
        type=kind,
        state="ready",
        remote_url=remote_url,
        description=(description or "")[:1500],
        blurhash=blurhash,
        focus_x=focus[0] if focus else 0.0,
        focus_y=focus[1] if focus else 0.0,
        meta={"focus": {"x": focus[0], "y": focus[1]}} if focus else {},
    )
    uow.session.add(media)
    await uow.session.flush()
    if settings.cache_remote_media:
        await uow.enqueue(FETCH_JOB, {"media_id": media.id})
    return media


async def fetch_remote(
    settings: Settings, storage: Storage, db_uow: UnitOfWork, media_id: int, *, last_attempt: bool
) -> None:
    """Download, check and process a remote attachment, then record it in `db_uow`.

    A file refused by the pipeline (or by the limits) marks the media failed: the post keeps
    showing it from its origin. Network trouble is retried."""
    async with db_uow.db.uow(write=False) as read:
        media = await repo.get(read.session, media_id)
    if media is None or not media.remote_url or media.file_key:
        return
    limits = MediaLimits.from_settings(settings)
    files = service.StoredFiles()
    processed: Processed | None = None
    error: str | None = None
    keys: dict[str, str] = {}
    try:
        async with service.work_dir(settings) as work:
            path = work / "source"
            try:
                declared = await download(
                    settings, media.remote_url, path, max_bytes=limits.any_bytes, timeout=TIMEOUT_SECONDS
                )
                processed = await asyncio.to_thread(_process, path, declared, limits, work)
            except DownloadError as exc:
                if exc.transient and not last_attempt:
                    raise
                error = f"download failed: {exc}"
            except MediaError as exc:
                error = f"File {exc}"
            if processed is not None:
                for output in processed.outputs:
                    keys[output.role] = await service.store_output(storage, media.id, output, files)
                served = processed.output("file")
                served_type, served_size = (served.content_type, served.size) if served else (None, None)
    except Exception:
        await service.discard_files(storage, files.written)
        raise
    row = await repo.get(db_uow.session, media_id, for_update=True)
    if row is None:
        await service.discard_files(storage, files.written)
        return
    row.updated_at = utcnow()
    if processed is None:
        row.state = "failed"
        row.last_error = error
        return
    row.state = "ready"
    row.last_error = None
    row.type = processed.media_type
    row.file_key = keys.get("file")
    row.preview_key = keys.get("small")
    row.content_type, row.file_size = served_type, served_size
    meta: dict[str, Any] = dict(processed.meta)
    if "focus" in (row.meta or {}):
        meta["focus"] = row.meta["focus"]
    row.meta = meta
    row.blurhash = processed.blurhash or row.blurhash


def _process(path: Path, declared: str, limits: MediaLimits, work: Path) -> Processed:
    source = processing.analyse(path, declared, limits)
    if not source.needs_job:
        return processing.process_image(source, limits)
    processed = processing.prepare_av(source, limits)
    service.merge_finished(processed, processing.finish_av(source, limits, work))
    return processed
