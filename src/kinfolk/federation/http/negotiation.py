"""Which representation a GET asked for: ActivityStreams JSON or an HTML page.

The same URL is an actor (or object) id for servers and a page for people, so the `Accept`
header decides. Servers send `application/activity+json` or `application/ld+json` with the
ActivityStreams profile (some only plain `application/ld+json` or `application/json`); browsers
send `text/html`. The preference with the higher quality wins; on a tie, or when the header
names neither, `default_json` decides (true for `/users/...` ids, false for `/@...` pages).
The header is read in one pass with a cap on its length, so a hostile header costs nothing.
"""

from __future__ import annotations

ACTIVITY_JSON = "application/activity+json"
CONTENT_TYPE = "application/activity+json; charset=utf-8"
_JSON_TYPES = frozenset({ACTIVITY_JSON, "application/ld+json", "application/json"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MAX_ACCEPT = 2048


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def wants_json(accept: str | None, *, default_json: bool) -> bool:
    if not accept:
        return default_json
    json_q = html_q = 0.0
    for item in accept[:_MAX_ACCEPT].split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = _quality(params)
        if media in _JSON_TYPES:
            json_q = max(json_q, q)
        elif media in _HTML_TYPES:
            html_q = max(html_q, q)
    if json_q > html_q:
        return True
    if html_q > json_q:
        return False
    return default_json
