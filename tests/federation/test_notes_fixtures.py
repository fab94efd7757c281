"""Every captured post (../shared/fixtures/activitypub) is fetched from a local server and
stored through the one store without error: ids rewritten to the test server's origin (the
author is a test actor there), everything else as captured."""

from __future__ import annotations

from pathlib import Path

import orjson

from kinfolk.container import Container
from kinfolk.federation import dereference
from kinfolk.federation.parse.object import is_note
from kinfolk.federation.parse.shape import Shape, shape_of
from tests.federation import remote_fixtures
from tests.federation.remote_docs import FakeRemote

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
remote = remote_fixtures.remote
settings = remote_fixtures.settings

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
