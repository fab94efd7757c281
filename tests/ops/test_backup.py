"""`kinfolk backup` while the server writes, `kinfolk restore` into a fresh data directory,
and a server on the restored copy reading the same statuses and media."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from kinfolk.api.app import create_app
from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.db.migrate import upgrade_async
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

DOMAIN = "kinfolk.test"


def _settings(data_dir: Path) -> Settings:
    return Settings(domain=DOMAIN, protocol="https", data_dir=data_dir, registrations="approval")


@asynccontextmanager
async def _server(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    container = Container.build(settings, pool_size=3)
    transport = httpx.ASGITransport(app=create_app(container), client=("127.0.0.1", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url=f"https://{DOMAIN}") as client:
            yield client, container
    finally:
        await container.close()


async def _token(container: Container) -> str:
    async with container.db.uow() as uow:
        _, user = await create_local_account(
            uow.session,
            NewAccount(username="alice", email="alice@example.com", password="pw-long-12345", role="owner"),
            uris=container.uris,
        )
        app = await create_application(uow.session, name="backup test", scopes="read write")
        issued = await issue_token(uow.session, application=app, user=user, scopes=["read", "write"])
    return issued.access_token


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def _without_counts(status: dict[str, object]) -> dict[str, object]:
    """The status as it was; its author's counters moved on with the posts after the backup."""
    account = dict(status["account"])  # type: ignore[call-overload]
    for name in ("statuses_count", "last_status_at"):
        account.pop(name)
    return {**status, "account": account}


def _env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KINFOLK_DOMAIN", DOMAIN)
    monkeypatch.delenv("KINFOLK_DATABASE_URL", raising=False)


async def test_backup_while_writing_then_restore_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = _settings(tmp_path / "original")
    original.data_dir.mkdir()
    await upgrade_async(original.resolved_database_url)
    backup_dir = tmp_path / "backup"

    async with _server(original) as (client, container):
        headers = {"Authorization": f"Bearer {await _token(container)}"}
        media = await client.post(
            "/api/v2/media", headers=headers, files={"file": ("p.png", _png(), "image/png")}
        )
        assert media.status_code == 200, media.text
        with_media = await client.post(
            "/api/v1/statuses",
            headers=headers,
            data={"status": "with a picture", "media_ids[]": media.json()["id"]},
        )
        assert with_media.status_code == 200

        posted: list[str] = []
        done = asyncio.Event()

        async def writer() -> None:
            n = 0
            while not done.is_set() or n < 5:
                answer = await client.post("/api/v1/statuses", headers=headers, data={"status": f"post {n}"})
                assert answer.status_code == 200
                posted.append(answer.json()["id"])
                n += 1
                await asyncio.sleep(0)

        writing = asyncio.create_task(writer())
        while len(posted) < 5:
            await asyncio.sleep(0.01)
        before = len(posted)
        _env(monkeypatch, original.data_dir)
        assert await asyncio.to_thread(main, ["backup", str(backup_dir)]) == 0
        done.set()
        await writing
        after_backup = len(posted)
        assert after_backup >= before + 2  # the writer went on posting while the backup ran
        assert "media files" in capsys.readouterr().out

        originals = {}
        for status_id in [with_media.json()["id"], *posted]:
            originals[status_id] = (await client.get(f"/api/v1/statuses/{status_id}", headers=headers)).json()
        picture_url = with_media.json()["media_attachments"][0]["url"]
        picture = (await client.get(picture_url)).content

    # The copy is a whole database, consistent, holding every post made before the backup began.
    check = sqlite3.connect(backup_dir / "kinfolk.sqlite3")
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    saved = {str(row[0]) for row in check.execute("SELECT id FROM statuses")}
    check.close()
    assert set(posted[:before]) <= saved
    assert before + 1 <= len(saved) <= after_backup + 1

    restored = _settings(tmp_path / "restored")
    _env(monkeypatch, restored.data_dir)
    assert main(["restore", str(backup_dir)]) == 0
    assert (restored.data_dir / "secret_key").read_text() == (original.data_dir / "secret_key").read_text()
    async with _server(restored) as (client, _):
        for status_id in saved:
            answer = await client.get(f"/api/v1/statuses/{status_id}", headers=headers)
            assert answer.status_code == 200
            assert _without_counts(answer.json()) == _without_counts(originals[status_id])
        assert (await client.get(picture_url)).content == picture and picture.startswith(b"\x89PNG")

    # A second restore would overwrite: refused unless forced.
    assert main(["restore", str(backup_dir)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["restore", str(backup_dir), "--force"]) == 0


async def test_tar_gz_round_trip_and_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = _settings(tmp_path / "original")
    original.data_dir.mkdir()
    await upgrade_async(original.resolved_database_url)
    async with _server(original) as (client, container):
        headers = {"Authorization": f"Bearer {await _token(container)}"}
        status = (await client.post("/api/v1/statuses", headers=headers, data={"status": "kept"})).json()

    archive = tmp_path / "kinfolk.tar.gz"
    _env(monkeypatch, original.data_dir)
    assert main(["backup", str(archive)]) == 0
    assert main(["backup", str(archive)]) == 1  # never overwrites a backup
    assert "exists" in capsys.readouterr().err

    restored = _settings(tmp_path / "restored")
    _env(monkeypatch, restored.data_dir)
    assert main(["restore", str(archive)]) == 0
    async with _server(restored) as (client, _):
        answer = await client.get(f"/api/v1/statuses/{status['id']}", headers=headers)
        assert answer.json()["content"] == status["content"]

    # A database kept outside the data directory is not overwritten either.
    elsewhere = tmp_path / "elsewhere.sqlite3"
    elsewhere.write_bytes(b"someone's data")
    _env(monkeypatch, tmp_path / "empty-data")
    monkeypatch.setenv("KINFOLK_DATABASE_URL", f"sqlite:///{elsewhere}")
    assert main(["restore", str(archive)]) == 1
    assert "--force" in capsys.readouterr().err and elsewhere.read_bytes() == b"someone's data"
    monkeypatch.delenv("KINFOLK_DATABASE_URL")

    # Not a backup at all.
    (tmp_path / "junk").mkdir()
    _env(monkeypatch, tmp_path / "fresh")
    assert main(["restore", str(tmp_path / "junk")]) == 1
    assert "not a Kinfolk backup" in capsys.readouterr().err


def test_postgresql_backup_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, tmp_path / "data")
    monkeypatch.setenv("KINFOLK_DATABASE_URL", "postgresql://kinfolk@db.internal/kinfolk")
    assert main(["backup", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump" in err and "pg_restore" in err and "media" in err
    assert not (tmp_path / "out").exists()
