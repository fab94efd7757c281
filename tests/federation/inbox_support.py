"""A remote server for inbox tests: actors with real RSA keys served by an aiohttp server on
127.0.0.1 under the names `remote.test` and `other.test`, and signed POSTs to our inboxes made
with the same `sign_request` the transport uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from sqlalchemy import func, select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.federation.models import InboxActivity
from kinfolk.federation.signatures import generate_key_pair, sign_request
from kinfolk.jobs.models import Job
from tests.conftest import TEST_DOMAIN

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_KEYS: list[tuple[str, str]] = []


def key_pair(n: int) -> tuple[str, str]:
    """(private PEM, public PEM), made once per test session (RSA generation is slow)."""
    while len(_KEYS) <= n:
        _KEYS.append(generate_key_pair())
    return _KEYS[n]


@dataclass
class RemoteActor:
    host: str
    port: int
    name: str
    private_pem: str
    public_pem: str
    # What the server answers for the actor: a document, or a status code.
    answer: int | None = None
    key_id_override: str | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def uri(self) -> str:
        return f"{self.origin}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.name.title(),
            "summary": "<p>hi</p><script>alert(1)</script>",
            "inbox": f"{self.uri}/inbox",
            "outbox": f"{self.uri}/outbox",
            "followers": f"{self.uri}/followers",
            "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
            "publicKey": {
                "id": self.key_id_override or self.key_id,
                "owner": self.uri,
                "publicKeyPem": self.public_pem,
            },
        }


@dataclass
class Remote:
    port: int
    actors: dict[tuple[str, str], RemoteActor] = field(default_factory=dict)
    fetches: list[str] = field(default_factory=list)

    def actor(self, name: str, host: str = "remote.test", key: int = 0) -> RemoteActor:
        private, public = key_pair(key)
        made = RemoteActor(host, self.port, name, private, public)
        self.actors[(host, name)] = made
        return made

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.fetches.append(f"{request.host}{request.path}")
        host = request.host.split(":")[0]
        name = request.match_info["name"]
        found = self.actors.get((host, name))
        if found is None:
            return web.Response(status=404)
        if found.answer is not None:
            return web.Response(status=found.answer)
        return web.Response(body=orjson.dumps(found.document()), content_type=AP)


def remote_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "allowed_private_addresses": "127.0.0.1/32",
            "hosts": "remote.test=127.0.0.1,other.test=127.0.0.1",
        }
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:  # the conftest fixture, with remote names
    return remote_settings(settings)


@pytest.fixture
async def remote() -> AsyncIterator[Remote]:
    app = web.Application()
    server = Remote(port=0)
    app.router.add_get("/users/{name}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server
    finally:
        await runner.cleanup()


def activity(actor: RemoteActor, kind: str, obj: Any, *, number: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.uri}/activities/{kind.lower()}/{number}",
        "type": kind,
        "actor": actor.uri,
        "object": obj,
        **extra,
    }


def signed(
    document: Mapping[str, Any] | bytes,
    signer: RemoteActor,
    *,
    path: str = "/inbox",
    key_id: str | None = None,
    private_pem: str | None = None,
    now: datetime | None = None,
    url: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    body = document if isinstance(document, bytes) else orjson.dumps(document)
    headers = sign_request(
        "POST",
        url or f"https://{TEST_DOMAIN}{path}",
        {"Content-Type": AP},
        body,
        key_id=key_id or signer.key_id,
        private_key_pem=private_pem or signer.private_pem,
        now=now,
    )
    return body, headers


async def post(
    client: httpx.AsyncClient, body: bytes, headers: Mapping[str, str], path: str = "/inbox"
) -> httpx.Response:
    return await client.post(path, content=body, headers=dict(headers))


async def stored(container: Container) -> tuple[int, int]:
    """(inbox rows, jobs of any kind): both stay unchanged by a refused request."""
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(func.count()).select_from(InboxActivity))).scalar_one()
        jobs = (await uow.session.execute(select(func.count()).select_from(Job))).scalar_one()
    return int(rows), int(jobs)


async def jobs_of(container: Container, kind: str) -> list[dict[str, Any]]:
    async with container.db.uow(write=False) as uow:
        found = await uow.session.execute(select(Job.payload).where(Job.kind == kind).order_by(Job.id))
        return [dict(p) for p in found.scalars()]
