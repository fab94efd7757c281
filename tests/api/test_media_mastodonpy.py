"""Media through Mastodon.py over real HTTP: a rotated JPEG, a PNG, an animated GIF, an MP4 and
an MP3 are uploaded, polled until ready, posted, and every URL serves its file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from mastodon import Mastodon
from tests.domain.media import live

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")

ENTITY_KEYS = {
    "id", "type", "url", "preview_url", "remote_url", "preview_remote_url", "text_url", "meta", "description",
    "blurhash",
}  # fmt: skip


def test_mastodon_py_uploads_polls_and_posts_every_kind(live_server: Any, tmp_path: Path) -> None:
    token = live_server.run(live.seed_user(live_server))
    api = Mastodon(api_base_url=live_server.url, access_token=token, version_check_mode="none")
    try:
        uploaded = {}
        for name, (path, mime, kind) in live.sample_files(tmp_path).items():
            with path.open("rb") as fh:
                media = api.media_post(fh, mime_type=mime, description=f"a {name}", focus=(-0.5, 0.3))
            assert media.type == kind, name
            if kind == "image":
                assert media.url is not None
            else:
                assert media.url is None
                assert api.media(media).url is None  # 206 while processing
            uploaded[name] = media
        live_server.run(live.run_jobs(live_server))
        ready = {name: api.media(media) for name, media in uploaded.items()}
        assert all(m.url for m in ready.values())
        edited = api.media_update(uploaded["png"], description="a png, edited")
        assert edited.description == "a png, edited"

        # Images and a GIF together; a video goes alone (Mastodon refuses it beside images).
        status = api.status_post("all of them", media_ids=[ready[n] for n in ("jpeg", "png", "gif")])
        film = api.status_post("a film", media_ids=[ready["mp4"]])
        attachments = status["media_attachments"] + film["media_attachments"]
        assert [a["type"] for a in attachments] == ["image", "image", "gifv", "video"]
        for item in attachments:
            assert set(item) == ENTITY_KEYS
            assert item["meta"]["focus"] == {"x": -0.5, "y": 0.3}
            assert item["blurhash"]
            assert item["description"].startswith("a ")
        jpeg = attachments[0]
        assert (jpeg["meta"]["original"]["width"], jpeg["meta"]["original"]["height"]) == (100, 200)
        assert jpeg["meta"]["original"]["size"] == "100x200"
        assert set(attachments[3]["meta"]["original"]) == {
            "width",
            "height",
            "frame_rate",
            "duration",
            "bitrate",
        }

        song = api.status_post("a song", media_ids=[ready["mp3"]])
        audio = song["media_attachments"][0]
        assert audio["type"] == "audio"
        assert set(audio["meta"]["original"]) == {"duration", "bitrate"}

        expected = {
            "image": ("image/jpeg", "image/png"),
            "gifv": ("video/mp4",),
            "video": ("video/mp4",),
            "audio": ("audio/mpeg",),
        }
        for item in [*attachments, audio]:
            response = requests.get(item["url"], timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] in expected[item["type"]]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            if item["preview_url"]:
                assert requests.get(item["preview_url"], timeout=10).status_code == 200

        # Mastodon.py decodes the blurhash it was given.
        pixels = api.decode_blurhash(jpeg, out_size=(4, 8), size_per_component=False)
        assert len(pixels) == 8 and len(pixels[0]) == 4

        api.status_delete(status["id"])
    finally:
        api.session.close()
