"""Fixtures for API tests: a real HTTP server for client libraries, and OAuth flow helpers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn

from kinfolk.api.app import create_app
from kinfolk.config import Settings
from kinfolk.container import Container

T = TypeVar("T")
OOB = "urn:ietf:wg:oauth:2.0:oob"


# --- live_server --------------------------------------------------------------------------


@dataclass
class LiveServer:
    """A uvicorn server on 127.0.0.1 in a background thread, with its own event loop.

    `container` belongs to that loop: touch its database only through `run(coro)`.
    """

    url: str
    container: Container
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = Settings(
        domain=f"127.0.0.1:{port}",
        protocol="http",
        data_dir=tmp_path / "live",
        database_url=db_url,
        secret_key="live-server-secret",
        registrations="open",
    )
    loop = asyncio.new_event_loop()
    container = Container.build(settings, pool_size=5)
    config = uvicorn.Config(
        create_app(container), log_level="warning", lifespan="off", proxy_headers=False, access_log=False
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            loop.run_until_complete(container.close())

    thread = threading.Thread(target=serve, name="kinfolk-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and not failure and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(5)
        raise RuntimeError(f"live server did not start: {failure!r}")
    try:
        yield LiveServer(url=settings.base_url, container=container, loop=loop)
    finally:
        server.should_exit = True
        thread.join(15)
        loop.close()
        sock.close()


# --- OAuth helpers ------------------------------------------------------------------------


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.action: str | None = None
        self.ids: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids[values["id"]] = values
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("name"):
            self.inputs[values["name"]] = values.get("value", "")


def parse_page(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class OAuthHelper:
    """Drives the OAuth flows through HTTP as a browser and a client app would."""

    client: httpx.AsyncClient
    registered: list[dict[str, Any]] = field(default_factory=list)

    async def register(
        self,
        *,
        redirect_uris: str | list[str] = OOB,
        scopes: str = "read write follow push",
        name: str = "App",
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/apps", json={"client_name": name, "redirect_uris": redirect_uris, "scopes": scopes}
        )
        assert response.status_code == 200, response.text
        app: dict[str, Any] = response.json()
        self.registered.append(app)
        return app

    async def authorize(self, app: dict[str, Any], **params: str) -> httpx.Response:
        query = {
            "client_id": app["client_id"],
            "response_type": "code",
            "redirect_uri": app["redirect_uris"][0],
        }
        query.update(params)
        return await self.client.get("/oauth/authorize?" + urlencode(query))

    async def submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        form = parse_page(page.text)
        assert form.action == "/oauth/authorize", page.text
        return await self.client.post("/oauth/authorize", data=form.inputs | fields)

    async def sign_in(self, page: httpx.Response, email: str, password: str) -> httpx.Response:
        """Submit the sign-in form; on success follow the 303 back to the consent page."""
        response = await self.submit(page, email=email, password=password)
        if response.status_code == 303:
            return await self.client.get(response.headers["location"])
        return response

    async def code(self, app: dict[str, Any], email: str, password: str, **params: str) -> str:
        """The whole browser side: authorize, sign in if asked, consent, read the code."""
        page = await self.authorize(app, **params)
        assert page.status_code == 200, page.text
        if 'name="password"' in page.text:
            page = await self.sign_in(page, email, password)
            assert page.status_code == 200, page.text
        done = await self.submit(page, action="authorize")
        if done.status_code == 302:
            return query_of(done.headers["location"])["code"]
        assert done.status_code == 200, done.text
        return parse_page(done.text).ids["code"]["value"]

    async def token(self, app: dict[str, Any], **data: str) -> httpx.Response:
        body = {"client_id": app["client_id"], "client_secret": app["client_secret"]} | data
        return await self.client.post("/oauth/token", data=body)


@pytest.fixture
def oauth(client: httpx.AsyncClient) -> OAuthHelper:
    return OAuthHelper(client)


@pytest.fixture
def parse_html() -> Any:
    """`parse_html(text)` gives `.inputs` (name -> value), `.action` (first form) and `.ids` (id -> attrs)."""
    return parse_page
