"""Every captured document (../shared/fixtures/activitypub) renders as its golden file says
(tests/federation/golden/, written by make_golden.py and read by hand): the status or account
entity the client API shows, what an activity or collection is read as, or why it is refused.
A change in any of them fails here until the golden file is rewritten and the diff read.

Also the conversions of other platforms' objects, checked on their own so that a wrong golden
file cannot hide them: never an empty post; Article/Page/Video/Event as title and link."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from kinfolk.container import Container
from tests.federation import remote_fixtures
from tests.federation.golden import FIXTURES, corpus_actors, fixture_paths, golden_path, outcome

# In-process tests against fake remote servers (remote_fixtures.py).
container = remote_fixtures.container
settings = remote_fixtures.settings

EXPECTED_FILES = 196


def _text(status: dict[str, Any]) -> str:
    return re.sub(r"<[^>]+>", " ", status["content"]).strip()


async def test_every_fixture_renders_as_its_golden_file(container: Container) -> None:
    paths = fixture_paths()
    assert len(paths) == EXPECTED_FILES
    actors = corpus_actors()
    differ: list[str] = []
    for path in paths:
        expected = orjson.loads(golden_path(path).read_bytes())
        got = await outcome(container, path, actors)
        if orjson.loads(orjson.dumps(got)) != expected:
            differ.append(str(path.relative_to(FIXTURES)))
    assert differ == [], "outcome differs from the golden file (make_golden.py, then read the diff)"


def _golden(name: str) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(golden_path(FIXTURES / name).read_bytes())
    return found


def test_no_golden_status_is_empty() -> None:
    for path in fixture_paths():
        status = _golden(str(path.relative_to(FIXTURES))).get("status")
        if status is not None:
            assert _text(status) or status["media_attachments"] or status["poll"], path


def test_a_poll_vote_is_not_stored_as_a_post() -> None:
    assert _golden("mastodon/create-poll-vote-note.json")["refused"] == "the store refused the post"


@pytest.mark.parametrize(
    ("name", "title", "link"),
    [
        (
            "wordpress/article-large.json",
            "An Epic 3D-Printed Fan Expansion for Last Light",
            "https://dbzer0.com/blog/",
        ),
        ("plume/article-large.json", "This Month in Plume: June 2018", "https://baptiste.gelez.xyz/~/"),
        ("lemmy/page-post.json", "Post title", "https://enterprise.lemmy.ml/post/55143"),
        ("peertube/video.json", "Mesa, Wayland &amp; X.org in trouble", "https://tilvids.com/videos/watch/"),
        ("mobilizon/event.json", "Caledonian scottish dance class", "https://rendezvous.nomagic.uk/events/"),
        (
            "funkwhale/audio.json",
            "Compositions - Test Audio for Pleroma",
            "https://channels.tests.funkwhale.audio/",
        ),
    ],
)
def test_converted_objects_show_title_and_link_without_a_content_warning(
    name: str, title: str, link: str
) -> None:
    status = _golden(name)["status"]
    assert status["content"].startswith(f"<p><strong>{title}")
    assert f'<a href="{link}' in status["content"]
    assert status["spoiler_text"] == ""


def test_an_article_shows_its_summary_not_its_body() -> None:
    content = _golden("wordpress/article-large.json")["status"]["content"]
    assert "I like the Last Light boardgame" in content
    assert "I recently got my hands on a 3D printer" not in content


def test_an_event_shows_its_time_and_place() -> None:
    content = _golden("mobilizon/event.json")["status"]["content"]
    assert "2022-12-11 19:00 \N{EN DASH} 21:00 (Europe/London)" in content
    assert "The Kenn Centre, Devon Expressway" in content
    gancio = _golden("gancio/create-event.json")["status"]["content"]
    assert "2021-07-14 17:30 \N{EN DASH} 18:30 (UTC+02:00)" in gancio


def test_a_video_shows_its_largest_thumbnail_and_audio_its_file() -> None:
    video = _golden("peertube/video-large-framatube.json")["status"]["media_attachments"]
    assert [m["type"] for m in video] == ["image"]
    assert video[0]["remote_url"].startswith("https://framatube.org/")
    audio = _golden("funkwhale/audio.json")["status"]["media_attachments"]
    assert [m["type"] for m in audio] == ["audio"]
    assert "/api/v1/listen/" in audio[0]["remote_url"]


def test_a_lemmy_link_post_shows_the_shared_link_and_no_link_media() -> None:
    status = _golden("lemmy/page-image-and-link.json")["status"]
    assert '<a href="https://example.com/some-article"' in status["content"]
    assert [m["remote_url"] for m in status["media_attachments"]] == [
        "https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png"
    ]
