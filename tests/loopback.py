"""Real HTTP servers on 127.0.0.1 under made-up host names, and the settings that let the
outbound guard (`infra/outbound.py`) reach them: for tests that fetch pages, pictures or
documents the way the server does in production."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from kinfolk.config import Settings
from tests.conftest import TEST_DOMAIN


@dataclass
class Site:
    """One server on the loopback, named `host` (mapped by the settings' `hosts`)."""

    host: str = "links.test"
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(site: Site, handle: Handler) -> AsyncIterator[Site]:
    """`site` answering every GET with `handle`, each path's requests counted in `site.hits`."""

    async def counted(request: web.Request) -> web.StreamResponse:
        site.hits[request.path] += 1
        return await handle(request)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", counted)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    site.port = server.port or 0
    try:
        yield site
    finally:
        await server.close()


def loopback_settings(
    db_url: str, tmp_path: Path, *, hosts: str, protocol: str = "https", **extra: Any
) -> Settings:
    """The test server's settings, with `hosts` (`name=127.0.0.1,...`) reachable."""
    return Settings(
        domain=TEST_DOMAIN,
        protocol=protocol,
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret-key",
        registrations="open",
        allowed_private_addresses="127.0.0.1/32",
        hosts=hosts,
        cache_remote_media=False,
        **extra,
    )
