"""The landing page at `/`: a small HTML page naming the server, for GET and HEAD; over real
HTTP it carries the `Date` header Mastodon.py reads the server's time from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mastodon import Mastodon

pytestmark = pytest.mark.filterwarnings("ignore::mastodon.errors.MastodonDeprecationWarning")


async def test_get_and_head(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Kinfolk</title>" in page.text
    assert "A Kinfolk server." in page.text and "kinfolk.test" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    head = await client.head("/")
    assert head.status_code == 200 and head.content == b""


async def test_texts_are_escaped(client: httpx.AsyncClient, container: Any) -> None:
    container.settings.instance_title = "<b>Kin</b>"
    container.settings.instance_description = "<script>alert(1)</script>"
    page = await client.get("/")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    assert "&lt;b&gt;Kin&lt;/b&gt;" in page.text


def test_mastodon_py_reads_the_server_time(live_server: Any) -> None:
    api = Mastodon(api_base_url=live_server.url, version_check_mode="none")
    try:
        assert "date" in {k.lower() for k in api.session.head(live_server.url + "/").headers}
        server_time = api.get_approx_server_time()
        assert abs((server_time.astimezone(UTC) - datetime.now(UTC)).total_seconds()) < 5
    finally:
        api.session.close()
