"""`kinfolk relays add | list | remove` against a real database: a Mastodon-style relay (named
by its inbox) is added pending with the instance actor's `Follow` queued, listed, and removed
with an `Undo` of that `Follow` queued; bad URLs and unknown relays are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kinfolk.cli import main
from kinfolk.config import load_settings
from kinfolk.db.database import Database
from kinfolk.jobs.models import Job


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KINFOLK_DOMAIN", "kinfolk.test")


def distribute_payloads() -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        db = Database(load_settings().resolved_database_url, pool_size=1)
        try:
            async with db.uow(write=False) as uow:
                jobs = (
                    await uow.session.execute(
                        select(Job).where(Job.kind == "federation.distribute").order_by(Job.id)
                    )
                ).scalars()
                return [dict(job.payload) for job in jobs]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_relays_commands(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = "https://relay.example/inbox"
    assert main(["relays", "add", inbox]) == 0
    assert "Mastodon-style" in capsys.readouterr().out
    assert main(["relays", "add", inbox]) == 1
    assert "Already subscribed" in capsys.readouterr().err
    assert main(["relays", "add", "javascript:alert(1)"]) == 1
    assert main(["relays", "add", "https://kinfolk.test/inbox"]) == 1
    capsys.readouterr()

    assert main(["relays", "list"]) == 0
    assert capsys.readouterr().out.split() == [inbox, "pending"]
    payloads = distribute_payloads()
    assert [(p["type"], p["object_type"]) for p in payloads] == [("Follow", "Relay")]

    assert main(["relays", "remove", inbox]) == 0
    assert main(["relays", "remove", inbox]) == 1
    assert main(["relays", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"Unsubscribed from {inbox}"]
    undo = distribute_payloads()[-1]
    assert undo["type"] == "Undo" and undo["inbox_url"] == inbox
    assert undo["object"] == "https://www.w3.org/ns/activitystreams#Public"
    assert undo["follow_activity_id"].startswith("https://kinfolk.test/actor#relays/")
