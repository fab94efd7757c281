"""`kinfolk backup DEST` and `kinfolk restore SRC` for the SQLite set-up.

A backup holds the database (copied with SQLite's online backup API: a consistent snapshot
taken while the server keeps running and writing), then the media directory and the files
Kinfolk generated in the data directory (the secret key, the Web Push key), plus a manifest.
DEST is a directory, or a `.tar.gz`/`.tgz` file.

The database is copied first: a media file uploaded afterwards is merely extra in the backup,
whereas one copied before its row was written would be missing.

PostgreSQL is backed up with its own tools (pg_dump/pg_restore, README.md "Backups"); there
`kinfolk backup` says so instead of failing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kinfolk.config import Settings
from kinfolk.kernel.clock import iso, utcnow

DATABASE_NAME = "kinfolk.sqlite3"
MANIFEST = "kinfolk-backup.json"
FORMAT = 1
# Files of the data directory that are not the database or media: generated keys and secrets.
SKIPPED = {"media"}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

POSTGRES_PROCEDURE = """\
kinfolk backup copies SQLite databases only; this server uses PostgreSQL.
Back it up with PostgreSQL's own tools (README.md, "Backups"):
  pg_dump --format=custom --file=kinfolk.dump "$DATABASE_URL"
and keep beside it the media (the media directory, or the S3 bucket) and the data directory's
generated files (secret_key, vapid_private_key.pem) unless KINFOLK_SECRET_KEY and
KINFOLK_VAPID_PRIVATE_KEY are set in the configuration.
Restore into an empty database: pg_restore --no-owner --dbname="$DATABASE_URL" kinfolk.dump"""


class BackupError(Exception):
    """A refusal with its reason, for the command line."""


@dataclass(frozen=True)
class BackupSummary:
    destination: Path
    database_bytes: int
    media_files: int
    other_files: list[str]


def sqlite_path(settings: Settings) -> Path:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        raise BackupError(POSTGRES_PROCEDURE)
    return Path(url.split(":///", 1)[1])


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def backup(settings: Settings, destination: Path) -> BackupSummary:
    source_db = sqlite_path(settings)
    if not source_db.is_file():
        raise BackupError(f"no database at {source_db}: nothing to back up")
    if _is_archive(destination):
        if destination.exists():
            raise BackupError(f"{destination} exists: choose a new name")
        with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".kinfolk-backup-") as tmp:
            summary = _backup_into(settings, source_db, Path(tmp))
            partial = destination.with_name(destination.name + ".partial")
            with tarfile.open(partial, "w:gz") as tar:
                for item in sorted(Path(tmp).iterdir()):
                    tar.add(item, arcname=item.name)
            partial.rename(destination)
        return BackupSummary(destination, summary.database_bytes, summary.media_files, summary.other_files)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: choose a new or empty directory")
    return _backup_into(settings, source_db, destination)


def _backup_into(settings: Settings, source_db: Path, target: Path) -> BackupSummary:
    target.mkdir(parents=True, exist_ok=True)
    copy = target / DATABASE_NAME
    # The backup API copies a consistent snapshot: in WAL mode the server's writers go on,
    # and copying every page in one step never restarts because of them.
    source = sqlite3.connect(source_db)
    try:
        dest = sqlite3.connect(copy)
        try:
            source.backup(dest, pages=-1)
            revision = dest.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            dest.close()
    finally:
        source.close()
    media_files = 0
    media = settings.media_dir
    if media.is_dir():
        shutil.copytree(media, target / "media", symlinks=False, dirs_exist_ok=True)
        media_files = sum(len(files) for _, _, files in os.walk(target / "media"))
    others: list[str] = []
    if settings.data_dir.is_dir():
        for item in sorted(settings.data_dir.iterdir()):
            if item.name in SKIPPED or not item.is_file() or _is_database_file(item, source_db):
                continue
            shutil.copy2(item, target / item.name)
            others.append(item.name)
    manifest = {
        "format": FORMAT,
        "created_at": iso(utcnow()),
        "domain": settings.domain,
        "database": DATABASE_NAME,
        "alembic_revision": revision[0] if revision else None,
        "media_files": media_files,
        "files": others,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return BackupSummary(target, copy.stat().st_size, media_files, others)


def _is_database_file(item: Path, database: Path) -> bool:
    names = {database.name, *(database.name + suffix for suffix in SQLITE_SIDE_FILES)}
    return item.name in names or item.name.endswith((".sqlite3", *SQLITE_SIDE_FILES))


def restore(settings: Settings, source: Path, *, force: bool = False) -> Path:
    """Into the configured data directory (and database path); refuses a non-empty data
    directory unless `force`. Returns the data directory."""
    target_db = sqlite_path(settings)
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()) and not force:
        raise BackupError(
            f"{data_dir} is not empty: restore into a new data directory, or pass --force to replace "
            "its database, media and keys (stop the server first)"
        )
    if target_db.is_file() and target_db.stat().st_size > 0 and not force:
        raise BackupError(f"{target_db} exists: pass --force to replace it (stop the server first)")
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if _is_archive(source):
        with tempfile.TemporaryDirectory(prefix=".kinfolk-restore-") as tmp:
            with tarfile.open(source, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
            _restore_from(Path(tmp), data_dir, target_db)
    else:
        _restore_from(source, data_dir, target_db)
    return data_dir


def _restore_from(backup_dir: Path, data_dir: Path, target_db: Path) -> None:
    manifest_path = backup_dir / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{backup_dir} is not a Kinfolk backup (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    database = backup_dir / str(manifest["database"])
    check = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(f"the database in {backup_dir} is damaged")
    finally:
        check.close()
    data_dir.mkdir(parents=True, exist_ok=True)
    target_db.parent.mkdir(parents=True, exist_ok=True)
    # A stale WAL beside the restored file would be replayed into it.
    for suffix in SQLITE_SIDE_FILES:
        Path(str(target_db) + suffix).unlink(missing_ok=True)
    partial = target_db.with_name(target_db.name + ".restoring")
    shutil.copyfile(database, partial)
    partial.replace(target_db)
    media = data_dir / "media"
    if media.exists():
        shutil.rmtree(media)
    if (backup_dir / "media").is_dir():
        shutil.copytree(backup_dir / "media", media)
    for name in manifest.get("files", []):
        if "/" in name or name.startswith("."):
            continue
        shutil.copy2(backup_dir / name, data_dir / name)
