"""One streaming connection: its subscriptions, and each event rendered for its viewer.

Events arrive as references (`{"event": "update", "status_id": "1"}`); the status is loaded
and judged for this viewer at delivery time (visibility, blocks, mutes, domain blocks, and
filters: a `hide` filter drops the event, others mark it `filtered`), then rendered exactly as
the REST API renders it for them. The connection also listens to its token's and account's
system channels (`kill` closes it) and checks its token again every `TOKEN_RECHECK` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.conversation import render_conversation
from kinfolk.api.entities.notification import render_notifications
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.streaming import channels as stream_channels
from kinfolk.api.streaming.channels import StreamSpec
from kinfolk.api.streaming.viewer import StreamViewer, check
from kinfolk.container import Container
from kinfolk.domain.filters.apply import apply_filters
from kinfolk.domain.notifications import listing
from kinfolk.domain.timelines import service, streams
from kinfolk.domain.timelines.repo.conversations import get_row
from kinfolk.infra.metrics import STREAMING
from kinfolk.infra.pubsub import Subscription
from kinfolk.kernel.errors import NotFound

log = logging.getLogger("kinfolk.streaming")

# How often an open stream checks that its token still works (revoked, user disabled).
TOKEN_RECHECK = 30.0


class StreamClosed(Exception):
    """The stream must end: its token was revoked or its account closed."""


@dataclass(frozen=True)
class Delivery:
    """One message for the client: `payload` is already a JSON string (or a bare id for
    `delete`), or None for events without one (`filters_changed`)."""

    stream: tuple[str, ...]
    event: str
    payload: str | None


Renderer = Callable[[AsyncSession, Container, int, int], Awaitable[dict[str, Any] | None]]


async def _render_notification(
    session: AsyncSession, container: Container, notification_id: int, viewer_id: int
) -> dict[str, Any] | None:
    """The Notification entity as `GET /api/v1/notifications/:id` gives it (None if the viewer's
    filters hide it)."""
    try:
        found = await listing.one(session, viewer_id, notification_id)
    except NotFound:
        return None
    bodies = await render_notifications(session, container, found.notifications, found.loaded, viewer_id)
    return bodies[0] if bodies else None


class StreamSession:
    def __init__(self, container: Container, viewer: StreamViewer) -> None:
        self.container = container
        self.viewer = viewer
        self.specs: dict[str, StreamSpec] = {}
        self._sub: Subscription | None = None
        self._counted = False  # in the streaming connections gauge
        self._checked = time.monotonic()

    @property
    def system_channels(self) -> list[str]:
        return [streams.token_channel(self.viewer.token_id), streams.system_channel(self.viewer.account_id)]

    async def open(self) -> None:
        self._sub = await self.container.pubsub.subscribe(self.system_channels)
        STREAMING.inc()
        self._counted = True

    async def close(self) -> None:
        if self._counted:
            STREAMING.dec()
            self._counted = False
        if self._sub is not None:
            await self._sub.close()

    async def add(self, spec: StreamSpec) -> None:
        if spec.key in self.specs:
            return
        self.specs[spec.key] = spec
        assert self._sub is not None
        await self._sub.add(*spec.channels)

    async def remove(self, spec: StreamSpec) -> None:
        if self.specs.pop(spec.key, None) is None:
            return
        still = {c for s in self.specs.values() for c in s.channels} | set(self.system_channels)
        assert self._sub is not None
        await self._sub.remove(*[c for c in spec.channels if c not in still])

    async def next(self, timeout: float) -> list[Delivery]:
        """The deliveries for the next message, [] for one this viewer does not get; raises
        TimeoutError after `timeout` seconds without messages and StreamClosed when it must end."""
        assert self._sub is not None
        wait = max(0.01, min(timeout, self._checked + TOKEN_RECHECK - time.monotonic()))
        try:
            channel, message = await asyncio.wait_for(self._sub.get(), wait)
        except TimeoutError:
            await self._recheck()
            raise
        await self._recheck()
        return await self.deliveries(channel, message)

    async def _recheck(self) -> None:
        if time.monotonic() - self._checked < TOKEN_RECHECK:
            return
        self._checked = time.monotonic()
        if await check(self.container, self.viewer.token) is None:
            raise StreamClosed()

    async def deliveries(self, channel: str, message: bytes) -> list[Delivery]:
        data = streams.decode(message)
        if data is None:
            return []
        event = data["event"]
        if channel in self.system_channels:
            if event == "kill":
                raise StreamClosed()
            return []
        out = []
        for spec in list(self.specs.values()):
            mode = spec.modes.get(channel)
            if mode is None:
                continue
            try:
                rendered = await self._render(mode, event, data)
            except Exception:  # one bad event must not end the stream
                log.exception("rendering a %s event failed", event)
                continue
            if not isinstance(rendered, bool):
                out.append(Delivery(spec.name, event, rendered))
        return out

    async def _render(self, mode: str, event: str, data: dict[str, Any]) -> str | bool | None:
        """The payload for this viewer, None for events without one, False to skip."""
        if event == "delete":
            return str(data.get("status_id", "")) or False
        if event == "filters_changed":
            return None
        if event in ("update", "status.update"):
            return await self._status(mode, int(data["status_id"]))
        if event == "notification":
            return await self._entity(_render_notification, int(data["notification_id"]))
        if event == "conversation":
            return await self._entity(_render_conversation_by_id, int(data["conversation_id"]))
        return False

    async def _status(self, mode: str, status_id: int) -> str | bool:
        viewer_id = self.viewer.account_id
        async with self.container.db.uow(write=False) as uow:
            session = uow.session
            if mode == stream_channels.PUBLIC:
                status = await service.public_status(session, viewer_id, status_id)
                context = "public"
            else:
                status = await service.personal_status(session, viewer_id, status_id)
                context = "home"
            if status is None:
                return False
            shown, filtered = await apply_filters(session, viewer_id, [status], context)
            if not shown:
                return False
            body = (await render_statuses(session, self.container, shown, viewer_id, filters=filtered))[0]
            return orjson.dumps(body).decode()

    async def _entity(self, render: Renderer, entity_id: int) -> str | bool:
        async with self.container.db.uow(write=False) as uow:
            body = await render(uow.session, self.container, entity_id, self.viewer.account_id)
        return orjson.dumps(body).decode() if body is not None else False


async def _render_conversation_by_id(
    session: AsyncSession, container: Container, row_id: int, viewer_id: int
) -> dict[str, Any] | None:
    row = await get_row(session, viewer_id, row_id)
    if row is None or row.last_status_id is None:
        return None
    return await render_conversation(session, container, row, viewer_id)
