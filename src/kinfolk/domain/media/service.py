"""Media attachments: uploads, edits, deletion, background processing and housekeeping.

Files are processed and stored before the row is written, outside any transaction (decoding
takes long enough that holding SQLite's write lock meanwhile would stall every writer); the
caller deletes what was written if its transaction fails. Files that become garbage after a
commit are removed by a `media.remove_files` job enqueued in that same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.instance.limits import MEDIA_DESCRIPTION_LIMIT
from kinfolk.domain.media import processing, repo
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.media.processing import MediaError, MediaLimits, Processed, Source, megabytes
from kinfolk.infra.storage import Storage
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import NotFound, Unprocessable
from kinfolk.kernel.ids import new_id

log = logging.getLogger("kinfolk.media")

UNATTACHED_TTL = timedelta(days=1)
PROCESS_JOB = "media.process"
REMOVE_FILES_JOB = "media.remove_files"
PROCESSING_ERROR = "Error processing thumbnail for uploaded media"
IN_USE_ERROR = "Media attachment is currently used by a status"
_CHUNK = 1 << 20


class Upload(Protocol):
    """An uploaded file as Starlette gives it (only what we use)."""

    @property
    def content_type(self) -> str | None: ...

    async def read(self, size: int = -1) -> bytes: ...


def invalid(message: str) -> Unprocessable:
    return Unprocessable(f"Validation failed: {message}")


def parse_description(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) > MEDIA_DESCRIPTION_LIMIT:
        raise invalid(f"Description is too long (maximum is {MEDIA_DESCRIPTION_LIMIT} characters)")
    return text


def parse_focus(value: Any) -> tuple[float, float] | None:
    """Mastodon's "x,y" focal point, each from -1.0 to 1.0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        x, y = (float(part) for part in str(value).split(","))
    except ValueError as exc:
        raise invalid("Focus is invalid") from exc
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise invalid("Focus is invalid")
    return x, y


def work_root(settings: Settings) -> Path:
    """Scratch space for processing, inside the media directory and never served (a key can
    not start with a dot)."""
    root = settings.media_dir / ".work"
    root.mkdir(parents=True, exist_ok=True)
    return root


@asynccontextmanager
async def work_dir(settings: Settings) -> AsyncIterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="job-", dir=work_root(settings)))
    try:
        yield path
    finally:
        await asyncio.to_thread(shutil.rmtree, path, True)


async def spool(upload: Upload, target: Path, limit: int) -> None:
    """Copy an upload to `target`, refusing it as soon as it is larger than `limit`."""
    written = 0
    with target.open("wb") as fh:
        while True:
            chunk = await upload.read(_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > limit:
                raise invalid(f"File file size must be less than {megabytes(limit)}")
            await asyncio.to_thread(fh.write, chunk)


async def read_limited(upload: Upload, limit: int, name: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise invalid(f"{name} file size must be less than {megabytes(limit)}")
    return data


def _key(media_id: int, role: str, extension: str) -> str:
    token = secrets.token_hex(16 if role == "upload" else 8)
    return f"attachments/{media_id}/{token}-{role}.{extension}"


@dataclass
class StoredFiles:
    """Keys written by a preparation step: the caller deletes them if its transaction fails."""

    written: list[str] = field(default_factory=list)


async def store_output(storage: Storage, media_id: int, output: processing.Output, files: StoredFiles) -> str:
    role = {"file": "original", "small": "small", "original": "upload"}[output.role]
    key = _key(media_id, role, output.extension)
    if output.data is not None:
        await storage.put(key, output.data, output.content_type)
    else:
        assert output.path is not None
        await storage.put_file(key, output.path, output.content_type)
    files.written.append(key)
    return key


async def discard_files(storage: Storage, keys: list[str]) -> None:
    """Best-effort removal: a stray file wastes space, it never breaks anything."""
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:
            log.warning("could not delete stored file %s", key)


@dataclass
class PreparedUpload:
    """An upload that passed every check, with its files already stored."""

    id: int
    processed: Processed
    keys: dict[str, str]
    description: str | None
    focus: tuple[float, float] | None
    content_type: str | None
    file_size: int | None
    thumbnail_key: str | None = None
    thumbnail_meta: dict[str, Any] | None = None
    thumbnail_blurhash: str | None = None
    thumbnail_colors: dict[str, str] | None = None
    files: StoredFiles = field(default_factory=StoredFiles)


async def _analyse(path: Path, declared: str, limits: MediaLimits) -> Source:
    try:
        return await asyncio.to_thread(processing.analyse, path, declared, limits)
    except MediaError as exc:
        raise invalid(f"File {exc}") from exc


async def _run(fn: Any, *args: Any) -> Processed:
    try:
        result: Processed = await asyncio.to_thread(fn, *args)
    except MediaError as exc:
        raise invalid(f"File {exc}") from exc
    return result


async def prepare_upload(
    settings: Settings,
    storage: Storage,
    upload: Upload,
    *,
    thumbnail: Upload | None = None,
    description: Any = None,
    focus: Any = None,
    synchronous: bool = False,
) -> PreparedUpload:
    """Check and process an upload and store its files; nothing is written to the database.

    Pictures are processed completely. Video, audio and animations get their poster and
    sizes now; the transcoding is left to the job unless `synchronous` (the v1 endpoint).
    """
    limits = MediaLimits.from_settings(settings)
    text = parse_description(description)
    point = parse_focus(focus)
    thumb_data = await read_limited(thumbnail, limits.image_bytes, "Thumbnail") if thumbnail else None
    prepared = PreparedUpload(new_id(), Processed("unknown"), {}, text, point, None, None)
    try:
        async with work_dir(settings) as work:
            source_path = work / "source"
            await spool(upload, source_path, limits.any_bytes)
            source = await _analyse(source_path, upload.content_type or "", limits)
            preview = None
            if thumb_data is not None:
                try:
                    preview = await asyncio.to_thread(processing.process_thumbnail, thumb_data, limits)
                except MediaError as exc:
                    raise invalid(str(exc).capitalize()) from exc
            if not source.needs_job:
                processed = await _run(processing.process_image, source, limits)
            elif synchronous:
                processed = await _run(processing.prepare_av, source, limits)
                finished = await _run(processing.finish_av, source, limits, work)
                merge_finished(processed, finished)
            else:
                processed = await _run(processing.prepare_av, source, limits)
            prepared.processed = processed
            for output in processed.outputs:
                prepared.keys[output.role] = await store_output(storage, prepared.id, output, prepared.files)
            served = processed.output("file")
            if served is not None:
                prepared.content_type, prepared.file_size = served.content_type, served.size
            if preview is not None:
                key = _key(prepared.id, "thumb", preview.image.extension)
                await storage.put(key, preview.image.data, preview.image.content_type)
                prepared.files.written.append(key)
                prepared.thumbnail_key = key
                prepared.thumbnail_meta = preview.meta
                prepared.thumbnail_blurhash = preview.blurhash
                prepared.thumbnail_colors = preview.colors
    except BaseException:
        await discard_files(storage, prepared.files.written)
        raise
    return prepared


def merge_finished(processed: Processed, finished: Processed) -> None:
    """The transcoded file replaces the kept upload; its sizes replace the header's."""
    processed.outputs = [o for o in processed.outputs if o.role != "original"] + finished.outputs
    processed.meta = processing.fix_rotation(dict(processed.meta, **finished.meta), processed.meta)
    processed.pending = False


def _focus_meta(meta: dict[str, Any], focus: tuple[float, float] | None) -> dict[str, Any]:
    if focus is None:
        return meta
    return dict(meta, focus={"x": focus[0], "y": focus[1]})


async def create_media(uow: UnitOfWork, account_id: int, prepared: PreparedUpload) -> MediaAttachment:
    """The row for a prepared upload; a pending one gets its processing job in this transaction."""
    processed = prepared.processed
    meta = dict(processed.meta)
    blurhash = processed.blurhash
    if prepared.thumbnail_meta is not None:
        meta["small"] = prepared.thumbnail_meta
        meta["colors"] = prepared.thumbnail_colors
        blurhash = prepared.thumbnail_blurhash
    media = MediaAttachment(
        id=prepared.id,
        account_id=account_id,
        type=processed.media_type,
        state="processing" if processed.pending else "ready",
        file_key=prepared.keys.get("file"),
        preview_key=prepared.keys.get("small"),
        thumbnail_key=prepared.thumbnail_key,
        original_key=prepared.keys.get("original"),
        content_type=prepared.content_type,
        file_size=prepared.file_size,
        meta=_focus_meta(meta, prepared.focus),
        description=prepared.description or "",
        focus_x=prepared.focus[0] if prepared.focus else 0.0,
        focus_y=prepared.focus[1] if prepared.focus else 0.0,
        blurhash=blurhash,
    )
    uow.session.add(media)
    await uow.session.flush()
    if processed.pending:
        await uow.enqueue(PROCESS_JOB, {"media_id": media.id})
    return media


async def get_unattached(session: AsyncSession, account_id: int, media_id: int) -> MediaAttachment:
    """The caller's own media not yet posted; anything else is not found, as in Mastodon."""
    media = await repo.get_owned(session, account_id, media_id)
    if media is None or media.status_id is not None:
        raise NotFound()
    if media.state == "failed":
        raise Unprocessable(PROCESSING_ERROR)
    return media


@dataclass
class PreparedUpdate:
    description: str | None
    focus: tuple[float, float] | None
    thumbnail_key: str | None = None
    thumbnail_meta: dict[str, Any] | None = None
    thumbnail_blurhash: str | None = None
    thumbnail_colors: dict[str, str] | None = None
    files: StoredFiles = field(default_factory=StoredFiles)


async def prepare_update(
    settings: Settings,
    storage: Storage,
    media_id: int,
    *,
    thumbnail: Upload | None = None,
    description: Any = None,
    focus: Any = None,
) -> PreparedUpdate:
    limits = MediaLimits.from_settings(settings)
    prepared = PreparedUpdate(parse_description(description), parse_focus(focus))
    if thumbnail is None:
        return prepared
    data = await read_limited(thumbnail, limits.image_bytes, "Thumbnail")
    try:
        preview = await asyncio.to_thread(processing.process_thumbnail, data, limits)
    except MediaError as exc:
        raise invalid(str(exc).capitalize()) from exc
    key = _key(media_id, "thumb", preview.image.extension)
    await storage.put(key, preview.image.data, preview.image.content_type)
    prepared.files.written.append(key)
    prepared.thumbnail_key = key
    prepared.thumbnail_meta = preview.meta
    prepared.thumbnail_blurhash = preview.blurhash
    prepared.thumbnail_colors = preview.colors
    return prepared


async def update_media(
    uow: UnitOfWork, account_id: int, media_id: int, prepared: PreparedUpdate
) -> MediaAttachment:
    media = await get_unattached(uow.session, account_id, media_id)
    return await apply_update(uow, media, prepared)


async def apply_update(uow: UnitOfWork, media: MediaAttachment, prepared: PreparedUpdate) -> MediaAttachment:
    """Description, focus and a new thumbnail; also for media already in a status (status edits)."""
    meta = dict(media.meta or {})
    if prepared.description is not None:
        media.description = prepared.description
    if prepared.focus is not None:
        media.focus_x, media.focus_y = prepared.focus
        meta = _focus_meta(meta, prepared.focus)
    if prepared.thumbnail_key is not None:
        if media.thumbnail_key:
            await uow.enqueue(REMOVE_FILES_JOB, {"keys": [media.thumbnail_key]})
        media.thumbnail_key = prepared.thumbnail_key
        meta["small"] = prepared.thumbnail_meta
        meta["colors"] = prepared.thumbnail_colors
        media.blurhash = prepared.thumbnail_blurhash
    media.meta = meta
    media.updated_at = utcnow()
    await uow.session.flush()
    return media


def file_keys(media: MediaAttachment) -> list[str]:
    return [k for k in (media.file_key, media.preview_key, media.thumbnail_key, media.original_key) if k]


async def delete_media(uow: UnitOfWork, account_id: int, media_id: int) -> None:
    """Only media not used by a post (or a scheduled one) may be deleted."""
    media = await repo.get_owned(uow.session, account_id, media_id)
    if media is None:
        raise NotFound()
    in_use = media.status_id is not None or media.id in await repo.scheduled_media_ids(
        uow.session, [account_id]
    )
    if in_use:
        raise Unprocessable(IN_USE_ERROR)
    keys = file_keys(media)
    await repo.delete_ids(uow.session, [media.id])
    if keys:
        await uow.enqueue(REMOVE_FILES_JOB, {"keys": keys})


# -- background processing ----------------------------------------------------------------------


async def process_pending(
    settings: Settings, storage: Storage, db_uow: UnitOfWork, media_id: int, *, last_attempt: bool
) -> None:
    """Transcode a pending upload, then record the result in `db_uow` (the job's transaction).

    The database is touched only at the end, so the minutes spent transcoding never hold a
    lock. A file that is refused marks the media failed; an unexpected error is retried, and
    marks it failed on the last attempt.
    """
    db = db_uow.db
    async with db.uow(write=False) as read:
        media = await repo.get(read.session, media_id)
    if media is None or media.state != "processing" or not media.original_key:
        return
    limits = MediaLimits.from_settings(settings)
    files = StoredFiles()
    finished: Processed | None = None
    stored: tuple[str, processing.Output] | None = None
    error: str | None = None
    try:
        async with work_dir(settings) as work:
            source_path = work / "source"
            await storage.download(media.original_key, source_path)
            try:
                source = await asyncio.to_thread(processing.analyse, source_path, "", limits)
                finished = await asyncio.to_thread(processing.finish_av, source, limits, work)
            except MediaError as exc:
                error = f"File {exc}"
            output = finished.output("file") if finished is not None else None
            if output is not None:
                key = await store_output(storage, media.id, output, files)
                stored = (key, output)
                file_size = output.size
    except Exception:
        await discard_files(storage, files.written)
        if not last_attempt:
            raise
        log.exception("processing media %s failed for good", media_id)
        error, stored = PROCESSING_ERROR, None
    row = await repo.get(db_uow.session, media_id, for_update=True)
    if row is None or row.state != "processing":
        await discard_files(storage, files.written)  # deleted (or done) meanwhile
        return
    garbage = [row.original_key] if row.original_key else []
    row.original_key = None
    if stored is None or finished is None:
        row.state = "failed"
        row.last_error = error
    else:
        row.state = "ready"
        row.file_key, served = stored
        row.file_size = file_size
        row.content_type = served.content_type
        row.type = finished.media_type
        meta = dict(row.meta or {})
        meta.update(processing.fix_rotation(finished.meta, meta))
        row.meta = meta
    row.updated_at = utcnow()
    await db_uow.enqueue(REMOVE_FILES_JOB, {"keys": garbage})


# -- housekeeping -------------------------------------------------------------------------------


async def remove_unattached(uow: UnitOfWork, *, batch: int = 500) -> int:
    """Delete uploads that were never posted within a day (and not waiting in a scheduled post)."""
    cutoff = utcnow() - UNATTACHED_TTL
    rows = await repo.unattached_local_before(uow.session, cutoff, batch)
    if not rows:
        return 0
    scheduled = await repo.scheduled_media_ids(uow.session, sorted({m.account_id for m in rows}))
    doomed = [m for m in rows if m.id not in scheduled]
    keys = [k for m in doomed for k in file_keys(m)]
    await repo.delete_ids(uow.session, [m.id for m in doomed])
    if keys:
        await uow.enqueue(REMOVE_FILES_JOB, {"keys": keys})
    return len(doomed)


async def remove_remote_cache(uow: UnitOfWork, settings: Settings, *, batch: int = 500) -> int:
    """Forget cached copies of remote media older than the retention period; the rows stay and
    point at the remote files again."""
    days = settings.media_cache_retention_days
    if days <= 0:
        return 0
    rows = await repo.cached_remote_before(uow.session, utcnow() - timedelta(days=days), batch)
    keys: list[str] = []
    for media in rows:
        keys.extend(file_keys(media))
        media.file_key = media.preview_key = media.thumbnail_key = media.original_key = None
        media.file_size = None
        media.updated_at = utcnow()
    if keys:
        await uow.enqueue(REMOVE_FILES_JOB, {"keys": keys})
    return len(rows)
