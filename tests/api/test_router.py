"""The indexed router decides exactly as Starlette's scan does."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from kinfolk.api.router import IndexedRouter


def _says(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


def _routes() -> list[Route | Mount]:
    return [
        Route("/a/{x}", _says("param-first")),
        Route("/a/b", _says("static-later")),
        Route("/api/v1/statuses", _says("create"), methods=["POST"]),
        Route("/api/v1/statuses/{id}", _says("show"), methods=["GET"]),
        Route("/api/v1/statuses/{id}/context", _says("context")),
        Route("/@{username}", _says("profile")),
        Route("/users/{name}/statuses/{id}", _says("activity")),
        Route("/files/{path:path}", _says("files")),
        Route("/slash", _says("slash")),
        Mount("/mounted", routes=[Route("/inner", _says("inner"))]),
    ]


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture(params=["starlette", "indexed"])
def app(request: pytest.FixtureRequest) -> Starlette:
    app = Starlette()
    if request.param == "indexed":
        app.router = IndexedRouter(_routes())
    else:
        app.router.routes.extend(_routes())
    return app


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/a/b", 200, "param-first {'x': 'b'}"),
        ("GET", "/a/c", 200, "param-first {'x': 'c'}"),
        ("POST", "/api/v1/statuses", 200, "create {}"),
        ("GET", "/api/v1/statuses", 405, None),
        ("GET", "/api/v1/statuses/12", 200, "show {'id': '12'}"),
        ("DELETE", "/api/v1/statuses/12", 405, None),
        ("GET", "/api/v1/statuses/12/context", 200, "context {'id': '12'}"),
        ("GET", "/@alice", 200, "profile {'username': 'alice'}"),
        ("GET", "/users/bob/statuses/3", 200, "activity {'name': 'bob', 'id': '3'}"),
        ("GET", "/files/x/y/z.png", 200, "files {'path': 'x/y/z.png'}"),
        ("GET", "/mounted/inner", 200, "inner {}"),
        ("GET", "/nowhere", 404, None),
        ("GET", "/slash/", 307, None),
    ],
)
async def test_same_decisions_as_starlette(
    app: Starlette, method: str, path: str, status: int, body: str | None
) -> None:
    async with _client(app) as client:
        response = await client.request(method, path)
    assert response.status_code == status
    if body is not None:
        assert response.text == body
    if status == 307:
        assert response.headers["location"].endswith("/slash")


async def test_routes_added_later_are_found() -> None:
    app = Starlette()
    app.router = IndexedRouter(_routes())
    async with _client(app) as client:
        assert (await client.get("/later")).status_code == 404
        app.router.routes.append(Route("/later", _says("later")))
        assert (await client.get("/later")).text == "later {}"
