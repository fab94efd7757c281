"""Remote inboxes for the outbox and delivery tests: one aiohttp server on 127.0.0.1 that
answers as remote.test and other.test (`KINFOLK_HOSTS`), records every POST with its headers
and body, verifies its signature with the sender's public key, and answers what the test
scripted for that host and path (202 when nothing is scripted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation.signatures import check_request, verify
from kinfolk.jobs.models import Job
from kinfolk.jobs.worker import Worker
from kinfolk.kernel.clock import utcnow

HOSTS = "remote.test=127.0.0.1,other.test=127.0.0.1"


def outbox_settings(db_url: str, data_dir: Any) -> Settings:
    return Settings(
        domain="kinfolk.test",
        protocol="https",
        data_dir=data_dir,
        database_url=db_url,
        secret_key="test-secret-key",
        registrations="open",
        hosts=HOSTS,
        allowed_private_addresses="127.0.0.1/32",
    )


@dataclass
class Received:
    host: str
    path: str
    document: dict[str, Any]
    key_id: str
    verified: bool
    at: float = field(default_factory=time.monotonic)


@dataclass
class Answer:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


class Inboxes:
    """The remote servers' inboxes. `script(host, path, *answers)` queues answers; `public_keys`
    maps a key id to the PEM the signature is verified with."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts: list[tuple[str, str, int]] = []
        self.public_keys: dict[str, str] = {}
        self._scripts: dict[tuple[str, str], list[Answer]] = {}
        self.port = 0
        # Set when the test ends: hung answers stop hanging, so the server can shut down.
        self.released = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post("/{path:.*}", self._post)

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def script(self, host: str, path: str, *answers: Answer) -> None:
        self._scripts.setdefault((host, path), []).extend(answers)

    async def _post(self, request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        body = await request.read()
        queue = self._scripts.get((host, request.path))
        answer = queue.pop(0) if queue else Answer()
        self.attempts.append((host, request.path, answer.status))
        if answer.hang:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), 60)
        verified = False
        params = check_request("POST", request.path_qs, request.headers, body)
        pem = self.public_keys.get(params.key_id)
        if pem is not None:
            verify(params, "POST", request.path_qs, request.headers, pem)
            verified = True
        if 200 <= answer.status < 300:
            self.received.append(Received(host, request.path, json.loads(body), params.key_id, verified))
        return web.Response(status=answer.status, headers=answer.headers)

    def to(self, host: str, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.host == host and (path is None or r.path == path)]


@asynccontextmanager
async def running_inboxes() -> AsyncIterator[Inboxes]:
    inboxes = Inboxes()
    runner = web.AppRunner(inboxes.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets
    inboxes.port = server.sockets[0].getsockname()[1]
    try:
        yield inboxes
    finally:
        inboxes.released.set()
        await runner.cleanup()


async def remote_fields(inboxes: Inboxes, host: str, username: str, *, shared: bool = True) -> dict[str, Any]:
    """Overrides for `make_remote_account`: inboxes on the test server."""
    fields: dict[str, Any] = {"inbox_url": inboxes.url(host, f"/users/{username}/inbox")}
    fields["shared_inbox_url"] = inboxes.url(host, "/inbox") if shared else None
    return fields


async def trust_local_keys(container: Container, inboxes: Inboxes) -> None:
    """Tell the fake servers every local account's public key, as fetching the actor would."""
    async with container.db.uow(write=False) as uow:
        accounts = (await uow.session.execute(select(Account).where(Account.domain.is_(None)))).scalars()
        for account in accounts:
            inboxes.public_keys[container.uris.key_id(account.username)] = account.public_key_pem


async def run_jobs(container: Container, *, rounds: int = 50, concurrency: int = 4) -> int:
    """Run what is due now until nothing is (unlike `drain_jobs`, dead jobs are the test's to
    inspect)."""
    worker = Worker(container, concurrency=concurrency, listen=False)
    ran = 0
    for _ in range(rounds):
        n = await worker.run_once()
        if n == 0:
            break
        ran += n
    return ran


async def make_due(container: Container) -> None:
    """Bring every waiting retry forward to now (instead of waiting out its backoff)."""
    async with container.db.uow() as uow:
        await uow.session.execute(update(Job).where(Job.state == "queued").values(run_at=utcnow()))


async def jobs_of(container: Container, kind: str) -> list[Job]:
    async with container.db.uow(write=False) as uow:
        return list(
            (await uow.session.execute(select(Job).where(Job.kind == kind).order_by(Job.id))).scalars()
        )
