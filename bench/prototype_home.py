"""What G1 would take: a home timeline endpoint reduced to what a cached read path must still do,
served like Kinfolk (`serve_app`), against a seeded benchmark database. Not part of Kinfolk.

Per request: the bearer token's digest looked up in an in-process dict (a token cache), one
SQLite query for the page (feed rows joined to the viewer's favourites/bookmarks/boosts), and
each status's JSON taken from an in-process cache of rendered statuses (filled on first use
with a representative document), joined with orjson. No ORM, no thread hop per query.

`python -m bench.prototype_home PORT SQLITE_PATH`; `make bench` does not run it. RESULTS.md
reports what it measured against A_min.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kinfolk.runtime import run_loop, serve_app

PAGE_SQL = """
SELECT f.status_id,
       EXISTS (SELECT 1 FROM favourites v WHERE v.account_id = ?1 AND v.status_id = f.status_id),
       EXISTS (SELECT 1 FROM bookmarks b WHERE b.account_id = ?1 AND b.status_id = f.status_id),
       EXISTS (SELECT 1 FROM statuses r WHERE r.account_id = ?1 AND r.reblog_of_id = f.status_id)
FROM home_feed f
WHERE f.account_id = ?1
ORDER BY f.status_id DESC
LIMIT 20
"""


def build_app(path: str) -> Starlette:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA query_only = 1")
    tokens: dict[str, int] = {}
    for digest, account_id in db.execute(
        "SELECT t.token_digest, u.account_id FROM oauth_access_tokens t JOIN users u ON u.id = t.user_id"
    ):
        tokens[digest] = account_id
    rendered: dict[int, orjson.Fragment] = {}

    def render(status_id: int) -> orjson.Fragment:
        cached = rendered.get(status_id)
        if cached is None:
            row = db.execute(
                "SELECT s.id, s.content, s.created_at, a.username FROM statuses s "
                "JOIN accounts a ON a.id = s.account_id WHERE s.id = ?",
                (status_id,),
            ).fetchone()
            document: dict[str, Any] = {
                "id": str(row[0]),
                "created_at": row[2],
                "content": row[1],
                "account": {"id": "1", "username": row[3], "acct": row[3], "emojis": [], "fields": []},
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
            }
            cached = rendered[status_id] = orjson.Fragment(orjson.dumps(document))
        return cached

    async def home(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        account_id = tokens.get(hashlib.sha256(header[7:].encode()).hexdigest())
        if account_id is None:
            return Response(b'{"error":"The access token is invalid"}', 401, media_type="application/json")
        page = [
            {"status": render(sid), "favourited": bool(f), "bookmarked": bool(b), "reblogged": bool(r)}
            for sid, f, b, r in db.execute(PAGE_SQL, (account_id,))
        ]
        return Response(orjson.dumps(page), media_type="application/json")

    return Starlette(routes=[Route("/api/v1/timelines/home", home)])


if __name__ == "__main__":
    run_loop(serve_app(build_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1])), serving=True)
