"""A small synchronous HTTP client for the measurements that are not load: single posts, paced
posting, waiting for fan-out. One keep-alive connection per client, like an app would hold."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from kinfolk.text.compose import count_characters

STATUS_LIMIT = 500


def status_text(mention: str, tag: str = "kinfolkbench", serial: int = 0) -> str:
    """Exactly 500 characters as Mastodon counts them, with a mention and a hashtag."""
    head = f"@{mention} #{tag} {serial} "
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "
    text = head + filler * 10
    while count_characters(text) > STATUS_LIMIT:
        text = text[:-1]
    return text.rstrip(" ") + "." * (STATUS_LIMIT - count_characters(text.rstrip(" ")))


class Client:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, Any, float]:
        """Status, the body (parsed when JSON), and seconds from sending to the last byte."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                elapsed = time.perf_counter() - started
                json_body = (response.getheader("Content-Type") or "").startswith("application/json")
                parsed = json.loads(raw) if raw and json_body else raw or None
                return response.status, parsed, elapsed
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def post_status(self, text: str, token: str | None = None) -> tuple[int, float, int]:
        status, data, elapsed = self.request("POST", "/api/v1/statuses", {"status": text}, token=token)
        if status != 200:
            raise RuntimeError(f"posting failed with {status}: {data}")
        return status, elapsed, int(data["id"])

    def close(self) -> None:
        self.conn.close()
