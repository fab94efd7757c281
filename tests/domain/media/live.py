"""Helpers for media tests against `live_server` (a uvicorn thread with its own loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.domain.media import samples

from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token
from kinfolk.jobs.worker import Worker


async def seed_user(live: Any, username: str = "alice") -> str:
    """A user with a read+write token; returns the token."""
    async with live.container.db.uow() as uow:
        app = await create_application(uow.session, name="Mastodon.py", scopes="read write")
        _, user = await create_local_account(
            uow.session,
            NewAccount(username=username, email=f"{username}@example.com", password="long enough pw"),
            uris=live.container.uris,
        )
        token = await issue_token(uow.session, application=app, user=user, scopes=["read", "write"])
    return token.access_token


async def run_jobs(live: Any) -> None:
    """Run every due job, as the worker of `kinfolk serve` would."""
    worker = Worker(live.container, concurrency=1, listen=False)
    while await worker.run_once():
        pass


def sample_files(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """name -> (path, MIME type, expected Mastodon type)"""
    (tmp_path / "rotated.jpg").write_bytes(samples.jpeg_rotated())
    (tmp_path / "plain.png").write_bytes(samples.png(300, 200))
    (tmp_path / "anim.gif").write_bytes(samples.animated_gif())
    samples.video(tmp_path / "clip.mp4", frames=15)
    samples.audio(tmp_path / "tone.mp3")
    return {
        "jpeg": (tmp_path / "rotated.jpg", "image/jpeg", "image"),
        "png": (tmp_path / "plain.png", "image/png", "image"),
        "gif": (tmp_path / "anim.gif", "image/gif", "gifv"),
        "mp4": (tmp_path / "clip.mp4", "video/mp4", "video"),
        "mp3": (tmp_path / "tone.mp3", "audio/mpeg", "audio"),
    }
