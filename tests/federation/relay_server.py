"""A minimal relay for the relay tests, in the manner of Aode's relay: one aiohttp server that
answers as `relay.test:<port>` (the servers resolve that name to the loopback through
`KINFOLK_HOSTS`), serves its actor (`/actor`, with a real key), takes a `Follow` in its inbox
(of the Public collection, Mastodon-style, or of its actor, LitePub-style) and `Accept`s it,
and `Announce`s the object of every `Create` it receives to its other subscribers' inboxes.
Every POST it makes is signed with its key by the project's own signing code.

It runs in a thread of its own (the harness scenarios drive servers synchronously); the
servers are reached at 127.0.0.1 with their own names in `Host`, as the harness does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from kinfolk.federation.signatures import sign_request
from tests.federation.inbox_support import key_pair

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class RelayServer:
    """`start()`, then `actor`/`inbox`; `subscribers` maps each follower's actor to its inbox."""

    def __init__(self, host: str = "relay.test") -> None:
        self.host = host
        self.port = 0
        self.private_pem, self.public_pem = key_pair(7)
        self.subscribers: dict[str, str] = {}
        self.received: list[dict[str, Any]] = []
        self.announced: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def actor(self) -> str:
        return f"{self.origin}/actor"

    @property
    def inbox(self) -> str:
        return f"{self.origin}/inbox"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/actor", self._actor)
        app.router.add_post("/inbox", self._inbox)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def _actor(self, request: web.Request) -> web.Response:
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Application",
            "preferredUsername": "relay",
            "inbox": self.inbox,
            "endpoints": {"sharedInbox": self.inbox},
            "publicKey": {
                "id": f"{self.actor}#main-key",
                "owner": self.actor,
                "publicKeyPem": self.public_pem,
            },
        }
        return web.json_response(document, content_type=AP)

    async def _inbox(self, request: web.Request) -> web.Response:
        document = json.loads(await request.read())
        self.received.append(document)
        kind = document.get("type")
        if kind == "Follow" and document.get("object") in (PUBLIC, self.actor):
            follower = str(document["actor"])
            inbox = await self._inbox_of(follower)
            self.subscribers[follower] = inbox
            accept = {"id": f"{self.origin}/activities/{uuid.uuid4()}", "type": "Accept", "actor": self.actor}
            await self._post(inbox, {**accept, "object": document})
        elif kind == "Undo" and isinstance(document.get("object"), dict):
            self.subscribers.pop(str(document["actor"]), None)
        elif kind == "Create" and isinstance(document.get("object"), dict):
            object_id = str(document["object"]["id"])
            sender = urlsplit(str(document["actor"])).netloc
            for follower, inbox in list(self.subscribers.items()):
                if urlsplit(follower).netloc == sender:
                    continue
                announce = {
                    "id": f"{self.origin}/activities/{uuid.uuid4()}",
                    "type": "Announce",
                    "actor": self.actor,
                    "object": object_id,
                    "to": [f"{self.actor}/followers"],
                    "cc": [PUBLIC],
                }
                await self._post(inbox, announce)
                self.announced.append((inbox, object_id))
        return web.Response(status=202)

    def _connect(self, url: str) -> tuple[str, str]:
        """The loopback URL to reach `url` at, and its Host."""
        parts = urlsplit(url)
        return f"http://127.0.0.1:{parts.port}{parts.path}", parts.netloc

    async def _inbox_of(self, actor: str) -> str:
        target, host = self._connect(actor)
        async with (
            aiohttp.ClientSession() as session,
            session.get(target, headers={"Host": host, "Accept": AP}) as response,
        ):
            document = await response.json(content_type=None)
        endpoints = document.get("endpoints") or {}
        return str(endpoints.get("sharedInbox") or document["inbox"])

    async def _post(self, inbox: str, activity: dict[str, Any]) -> None:
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", **activity}).encode()
        headers = {"Content-Type": AP}
        signed = sign_request(
            "POST", inbox, headers, body, key_id=f"{self.actor}#main-key", private_key_pem=self.private_pem
        )
        target, _ = self._connect(inbox)
        async with (
            aiohttp.ClientSession() as session,
            session.post(target, data=body, headers={**headers, **signed}) as response,
        ):
            if response.status >= 300:
                raise AssertionError(f"{inbox} answered {response.status}: {await response.text()}")
