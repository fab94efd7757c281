"""Every captured post (../shared/fixtures/activitypub) is fetched from a local server and
stored through the one store without error: ids rewritten to the test server's origin (the
author is a test actor there), everything else as captured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.federation import dereference
from kinfolk.federation.parse.object import is_note
from kinfolk.federation.parse.shape import Shape, shape_of
from tests.federation.remote_docs import FakeRemote, fake_remote, remote_container, remote_settings

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "activitypub"


def _notes() -> list[Path]:
    found = []
    for path in sorted(FIXTURES.rglob("*.json")):
        try:
            doc = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and is_note(doc) and shape_of(doc) == Shape.NOTE:
            found.append(path)
    return found


NOTES = _notes()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return remote_settings(db_url, tmp_path)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with remote_container(settings) as made:
        yield made


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    async with fake_remote() as server:
        yield server


def test_the_corpus_has_notes() -> None:
    assert len(NOTES) >= 20, NOTES


async def test_every_fixture_note_ingests(container: Container, remote: FakeRemote) -> None:
    author = remote.actor("author")
    failed = []
    for number, path in enumerate(NOTES):
        doc = orjson.loads(path.read_bytes())
        doc["id"] = f"{author}/statuses/fixture{number}"
        doc["attributedTo"] = author
        doc.pop("inReplyTo", None)
        remote.docs[doc["id"]] = doc
        status = await dereference.fetch_note(container, doc["id"])
        if status is None:
            failed.append(str(path.relative_to(FIXTURES)))
    assert failed == []
