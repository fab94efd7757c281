from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kinfolk.api.errors import EXCEPTION_HANDLERS
from kinfolk.api.http import as_bool, flatten_pairs, json_response, read_params, validate


class Poll(BaseModel):
    options: list[str]
    expires_in: int


class StatusParams(BaseModel):
    status: str
    poll: Poll | None = None


async def echo(request: Request) -> Response:
    return json_response(await read_params(request))


async def create(request: Request) -> Response:
    params = validate(StatusParams, await read_params(request))
    return json_response(params.model_dump())


app = Starlette(
    routes=[Route("/echo", echo, methods=["GET", "POST"]), Route("/create", create, methods=["POST"])],
    exception_handlers=EXCEPTION_HANDLERS,
)


@pytest.fixture
async def plain_client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://t.example")


def test_rails_style_keys_nest_and_collect() -> None:
    params = flatten_pairs(
        [
            ("media_ids[]", "1"),
            ("media_ids[]", "2"),
            ("poll[options][]", "a"),
            ("poll[options][]", "b"),
            ("poll[expires_in]", "300"),
            ("fields_attributes[0][name]", "site"),
            ("fields_attributes[0][value]", "x"),
        ]
    )
    assert params == {
        "media_ids": ["1", "2"],
        "poll": {"options": ["a", "b"], "expires_in": "300"},
        "fields_attributes": {"0": {"name": "site", "value": "x"}},
    }


async def test_query_form_and_json_are_interchangeable(plain_client: httpx.AsyncClient) -> None:
    async with plain_client as c:
        by_query = (await c.get("/echo", params={"types[]": ["a", "b"]})).json()
        by_form = (await c.post("/echo", data={"types[]": ["a", "b"]})).json()
        by_json = (await c.post("/echo", json={"types": ["a", "b"]})).json()
    assert by_query == by_form == by_json == {"types": ["a", "b"]}


async def test_a_json_body_on_a_get_counts_as_rails_reads_it(plain_client: httpx.AsyncClient) -> None:
    async with plain_client as c:
        by_json = await c.request("GET", "/echo?limit=2", json={"id": ["1", "2"]})
        by_form = await c.request("GET", "/echo?limit=2", data={"id[]": ["1", "2"]})
    assert by_json.json() == {"limit": "2", "id": ["1", "2"]}
    assert by_form.json() == {"limit": "2"}


async def test_malformed_json_is_a_400_not_a_500(plain_client: httpx.AsyncClient) -> None:
    async with plain_client as c:
        response = await c.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
        array = await c.post("/echo", content=b"[1,2]", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Error occurred while parsing request parameters"}
    assert array.status_code == 400


async def test_validation_failure_is_a_422_naming_the_field(plain_client: httpx.AsyncClient) -> None:
    async with plain_client as c:
        response = await c.post(
            "/create", json={"status": "hi", "poll": {"options": "x", "expires_in": "soon"}}
        )
        ok = await c.post(
            "/create", data={"status": "hi", "poll[options][]": ["a", "b"], "poll[expires_in]": "60"}
        )
    assert response.status_code == 422
    body = response.json()
    assert body["error"].startswith("Validation failed")
    assert "poll.expires_in" in body["details"]
    assert ok.status_code == 200
    assert ok.json()["poll"] == {"options": ["a", "b"], "expires_in": 60}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("on", True), ("0", False), ("false", False), ("", False), (None, False)],
)
def test_rails_booleans(value: object, expected: bool) -> None:
    assert as_bool(value) is expected
