"""A fake remote server for the notes/dereference tests: one aiohttp server on 127.0.0.1
answering as every host `KINFOLK_HOSTS` maps to it (remote.test, other.test), serving the JSON
documents a test puts in `docs` by URL, and counting what was asked."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from kinfolk.config import Settings
from kinfolk.container import Container
from tests.loopback import loopback_settings

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"


def remote_settings(db_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(
        db_url, tmp_path, hosts="remote.test=127.0.0.1,other.test=127.0.0.1", protocol="http"
    )


class FakeRemote:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.hits: Counter[str] = Counter()
        self.port = 0
        # Awaited with each request before it is answered (a test's check of our side's state).
        self.on_request: Callable[[web.Request], Awaitable[None]] | None = None

    def origin(self, host: str = "remote.test") -> str:
        return f"http://{host}:{self.port}"

    async def handle(self, request: web.Request) -> web.Response:
        if request.path == "/.well-known/webfinger":
            url = f"http://{request.host}{request.path}?resource={request.query.get('resource', '')}"
            content_type = "application/jrd+json"
        else:
            url = f"http://{request.host}{request.path}"
            content_type = AP
        self.hits[url] += 1
        if self.on_request is not None:
            await self.on_request(request)
        doc = self.docs.get(url)
        if doc is None:
            raise web.HTTPNotFound()
        return web.json_response(doc, content_type=content_type)

    def actor(self, username: str, host: str = "remote.test", **extra: Any) -> str:
        base = self.origin(host)
        uri = f"{base}/users/{username}"
        self.docs[uri] = {
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": uri,
            "type": "Person",
            "preferredUsername": username,
            "name": username.title(),
            "summary": "<p>hello</p><script>alert(1)</script>",
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "following": f"{uri}/following",
            "url": f"{base}/@{username}",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": PEM},
            **extra,
        }
        host_port = f"{host}:{self.port}"
        self.docs[f"{base}/.well-known/webfinger?resource=acct:{username}@{host_port}"] = {
            "subject": f"acct:{username}@{host_port}",
            "links": [{"rel": "self", "type": AP, "href": uri}],
        }
        return uri

    def note(self, author: str, number: int | str, content: str = "hi", **extra: Any) -> dict[str, Any]:
        uri = f"{author}/statuses/{number}"
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": uri,
            "type": "Note",
            "attributedTo": author,
            "content": f"<p>{content}</p>",
            "published": "2026-01-01T00:00:00Z",
            "to": [PUBLIC],
            "cc": [f"{author}/followers"],
            **extra,
        }
        self.docs[uri] = doc
        return doc


@asynccontextmanager
async def remote_container(settings: Settings) -> AsyncIterator[Container]:
    """The app's container (closing it closes the federation transport too)."""
    container = Container.build(settings, pool_size=5)
    try:
        yield container
    finally:
        await container.close()


@asynccontextmanager
async def fake_remote() -> AsyncIterator[FakeRemote]:
    remote = FakeRemote()
    app = web.Application()
    app.router.add_route("GET", "/{path:.*}", remote.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    remote.port = server.port or 0
    try:
        yield remote
    finally:
        await server.close()
