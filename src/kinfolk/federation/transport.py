"""The one way this process talks HTTP to other servers: signed GETs of JSON and activity POSTs.

One `Transport` per process holds one aiohttp session (one connection pool: deliveries to the
same server reuse connections) behind the guarded resolver of `infra/outbound.py`, so no remote
URL can reach our own network. Each host gets at most `per_host` requests at a time, fewer than
the pool holds, so a server that hangs or crawls ties up its own slots only and every other
server's deliveries and fetches go on (checklist 81). Each request has its own deadline, and
waiting for a host's slot is bounded by the same length again.

Deliveries report what the worker needs to decide about retries rather than raising: success on
2xx, no retry on a 4xx other than 408 and 429 (the inbox is gone or refuses us), a retry on 408,
429, 5xx, timeouts and connection errors, after `Retry-After` when the server said so.

Signing is the caller's: a `Signer` gets each request (each redirect hop too) and returns the
headers to add, so this module knows nothing of keys.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

import kinfolk
from kinfolk.config import Settings
from kinfolk.infra.fetch import (
    ACTIVITY_ACCEPT,
    ACTIVITY_TYPES,
    CONNECT_SECONDS,
    DEADLINE_SECONDS,
    MAX_BYTES,
    READ_SECONDS,
    FetchedDocument,
    FetchError,
    connection_failure,
    failure_for_status,
    fetch_json,
)
from kinfolk.infra.outbound import DisallowedDestination, check_url, guarded_connector

ACTIVITY_CONTENT_TYPE = 'application/activity+json; profile="https://www.w3.org/ns/activitystreams"'
PER_HOST = 8
# Connections open at once beside the deliveries' own (`Settings.delivery_concurrency`): the
# fetches of the ingress and pull queues and of the web process.
POOL_SIZE = 100


class Signer(Protocol):
    """Signs one request: gets its method, URL, headers so far and body (None for a GET), and
    returns the headers to add (`Date`, `Digest`, `Signature`, ...)."""

    def __call__(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How a POST to an inbox went. `status` is None when no response came (timeout, connection
    error, refused destination)."""

    status: int | None
    retry_after: float | None = None
    permanent_failure: bool = False
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def user_agent(settings: Settings) -> str:
    """`Kinfolk/0.1.0 (+https://example.com/)`, Mastodon's shape: remote admins can see who calls."""
    return f"Kinfolk/{version()} (+{settings.base_url}/)"


def version() -> str:
    try:
        return importlib.metadata.version("kinfolk")
    except importlib.metadata.PackageNotFoundError:
        return kinfolk.__version__


def host_key(url: str) -> str:
    """What the per-host cap counts by: host and port as the URL names them."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').rstrip('.')}:{parts.port or ''}"


class _HostGates:
    """A semaphore per host, dropped when nobody holds or awaits it (hosts come and go)."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str, wait: float) -> AsyncIterator[None]:
        """A slot of `key`'s host, waited for at most `wait` seconds (TimeoutError then): a host
        whose slots are all stuck must not keep its queue waiting forever either."""
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = (asyncio.Semaphore(self._per_host), [0])
        semaphore, users = gate
        users[0] += 1
        try:
            async with asyncio.timeout(wait):
                await semaphore.acquire()
            try:
                yield
            finally:
                semaphore.release()
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._gates[key]

    def __len__(self) -> int:
        return len(self._gates)


class Transport:
    """Outbound ActivityPub HTTP for one process (create one, share it, `close()` at shutdown)."""

    def __init__(
        self,
        settings: Settings,
        *,
        per_host: int = PER_HOST,
        pool_size: int | None = None,
        deadline: float = DEADLINE_SECONDS,
        connect_timeout: float = CONNECT_SECONDS,
        read_timeout: float = READ_SECONDS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.settings = settings
        self.user_agent = user_agent(settings)
        self.deadline = deadline
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        # Every delivery slot may be waiting on a connection of its own (a server that never
        # answers holds one until the read timeout): the pool is never the tighter limit.
        self._pool_size = pool_size if pool_size is not None else POOL_SIZE + settings.delivery_concurrency
        self._gates = _HostGates(per_host)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The process's one session, made on first use (it must be made inside the running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=guarded_connector(self.settings, limit=self._pool_size),
                timeout=aiohttp.ClientTimeout(
                    total=self.deadline, sock_connect=self.connect_timeout, sock_read=self.read_timeout
                ),
                headers={"User-Agent": self.user_agent},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_json(
        self,
        url: str,
        signer: Signer | None = None,
        *,
        accept: str = ACTIVITY_ACCEPT,
        content_types: Collection[str] = ACTIVITY_TYPES,
        expected_id: str | None = None,
        check_id_origin: bool = True,
    ) -> FetchedDocument:
        """GET a JSON document under `fetch_json`'s rules, each hop signed by `signer` when given.
        Raises FetchError."""

        def headers_for(hop: str) -> dict[str, str]:
            headers = {"Accept": accept, "User-Agent": self.user_agent}
            if signer is not None:
                headers.update(signer("GET", hop, dict(headers), None))
            return headers

        try:
            async with self._gates.hold(host_key(url), self.deadline):
                return await fetch_json(
                    self.session,
                    url,
                    allowed=self.settings.allowed_private_networks,
                    headers_for=headers_for,
                    accept=accept,
                    content_types=content_types,
                    expected_id=expected_id,
                    check_id_origin=check_id_origin,
                    max_bytes=self.max_bytes,
                    deadline=self.deadline,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                )
        except TimeoutError as exc:  # fetch_json turns its own timeouts into FetchError
            raise FetchError("timed out waiting for a free slot for this host") from exc

    async def post_activity(self, inbox_url: str, body: bytes, signer: Signer) -> DeliveryResult:
        """POST one activity to one inbox. Never raises for what the remote side does; redirects
        are not followed (a signature names its target, and an inbox that moved is the sender's
        to learn anew)."""
        try:
            check_url(inbox_url, self.settings.allowed_private_networks)
        except (DisallowedDestination, ValueError) as exc:
            return DeliveryResult(None, permanent_failure=True, reason=f"refused destination: {exc}")
        headers = {"Content-Type": ACTIVITY_CONTENT_TYPE, "User-Agent": self.user_agent}
        headers.update(signer("POST", inbox_url, dict(headers), body))
        try:
            async with (
                self._gates.hold(host_key(inbox_url), self.deadline),
                asyncio.timeout(self.deadline),
                self.session.post(inbox_url, data=body, headers=headers, allow_redirects=False) as response,
            ):
                status = response.status
                if 200 <= status < 300:
                    return DeliveryResult(status)
                failure = failure_for_status(status, response.headers.get("Retry-After"))
        except (aiohttp.ClientError, OSError, TimeoutError, DisallowedDestination) as exc:
            failure = connection_failure(exc)
        return _delivery_failure(failure)


def _delivery_failure(failure: FetchError) -> DeliveryResult:
    return DeliveryResult(
        failure.status,
        retry_after=failure.retry_after,
        permanent_failure=failure.permanent,
        reason=failure.reason,
    )
