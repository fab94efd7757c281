"""The disk full, for real: the data directory (media, and the SQLite database with its WAL) on
a small tmpfs, filled to the last byte while `kinfolk serve` runs.

- a media upload answers 507 `{"error": ...}` and leaves no row and no file behind;
- a post answers 507 on SQLite (the database itself is on the full disk; on PostgreSQL its
  disk has room and the post succeeds), and leaves no half-made row;
- reads keep being served while the disk is full;
- once space is freed, posts and uploads work again, and the jobs that met the full disk
  finish (none dead) without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import Kinfolk, kinfolk_env, query, seed_accounts, unavailable, wait_jobs_drained

TMPFS_SIZE = "32m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """`data/` on a tmpfs of its own (needs root, as in CI)."""
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() != 0:
        unavailable("a tmpfs mount for the full-disk test", "not root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(data)],
        capture_output=True,
        timeout=30,
    )
    if done.returncode != 0:
        unavailable("a tmpfs mount for the full-disk test", done.stderr.decode(errors="replace"))
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], capture_output=True, timeout=30)


def _fill(disk: Path) -> Path:
    """Write until ENOSPC: not one block is left."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while True:
                    out.write(chunk)
    return filler


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _files(disk: Path) -> set[str]:
    return {str(p.relative_to(disk)) for p in disk.rglob("*") if p.is_file() and p.name != "filler"}


async def test_a_full_disk_answers_507_and_leaves_nothing_half_made(
    database_url: str, small_disk: Path, tmp_path: Path
) -> None:
    sqlite = database_url.startswith("sqlite")
    server = Kinfolk(tmp_path, kinfolk_env(tmp_path, database_url), "serve", name="serve")
    server.start()
    try:
        accounts = await seed_accounts(database_url, small_disk, ["author", "reader"])
        author, reader = accounts["author"], accounts["reader"]
        image = _png()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            r = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=reader.headers)
            assert r.status_code == 200, r.text
            r = await client.post(
                "/api/v1/statuses", headers=author.headers, json={"status": "before the disk filled"}
            )
            assert r.status_code == 200, r.text
            first = r.json()["id"]
            r = await client.post(
                "/api/v2/media", headers=author.headers, files={"file": ("a.png", image, "image/png")}
            )
            assert r.status_code == 200, r.text
            await wait_jobs_drained(database_url, 30, server.logs())
            media_before = await query(database_url, "SELECT count(*) FROM media_attachments")
            files_before = _files(small_disk)

            filler = _fill(small_disk)
            try:
                # An upload: refused with 507, nothing stored.
                r = await client.post(
                    "/api/v2/media", headers=author.headers, files={"file": ("b.png", image, "image/png")}
                )
                assert r.status_code == 507, r.text
                assert isinstance(r.json()["error"], str)
                assert await query(database_url, "SELECT count(*) FROM media_attachments") == media_before
                leftovers = {
                    f for f in _files(small_disk) - files_before if not f.startswith("kinfolk.sqlite3")
                }
                assert not leftovers, leftovers

                # Posts: on SQLite the database is on the full disk, and the WAL soon needs room.
                acked: list[str] = []
                refused = 0
                for i in range(300 if sqlite else 3):
                    r = await client.post(
                        "/api/v1/statuses", headers=author.headers, json={"status": f"full {i}"}
                    )
                    if r.status_code == 200:
                        acked.append(r.json()["id"])
                        continue
                    assert r.status_code == 507, r.text
                    assert isinstance(r.json()["error"], str)
                    refused += 1
                    if refused >= 3:
                        break
                assert refused >= 3 if sqlite else not refused, (refused, len(acked), server.logs())

                # Reads are still served.
                for path, who in (
                    (f"/api/v1/statuses/{first}", reader),
                    ("/api/v1/timelines/home", reader),
                    (f"/api/v1/accounts/{author.id}/statuses", reader),
                    ("/api/v1/timelines/public", author),
                ):
                    r = await client.get(path, headers=who.headers)
                    assert r.status_code == 200, (path, r.text)
            finally:
                filler.unlink()

            # Resumed by itself once there is room again.
            r = await client.post("/api/v1/statuses", headers=author.headers, json={"status": "room again"})
            assert r.status_code == 200, r.text
            last = r.json()["id"]
            r = await client.post(
                "/api/v2/media", headers=author.headers, files={"file": ("c.png", image, "image/png")}
            )
            assert r.status_code == 200, r.text
            await wait_jobs_drained(database_url, 120, server.logs())

            rows = await query(database_url, "SELECT id, text FROM statuses WHERE text LIKE 'full %'")
            assert sorted(str(i) for i, _ in rows) == sorted(acked), "a refused post was stored"
            r = await client.get("/api/v1/timelines/home", headers=reader.headers, params={"limit": 40})
            home = [s["id"] for s in r.json()]
            assert last in home and all(a in home for a in acked[-5:]), "fan-out did not finish"
            assert await query(database_url, "SELECT count(*) FROM media_attachments") == [
                (media_before[0][0] + 1,)
            ]
    finally:
        server.stop()
        await asyncio.sleep(0)
