"""Stream names (`user`, `public:local`, `hashtag`, ...) and the pub/sub channels behind them.

Each channel of a subscription has a mode that says how its events are judged for the viewer:
`home` (the viewer's own feed: user and list streams), `public` (public and hashtag streams),
`notifications` and `direct`.

Every stream of statuses needs `read` or `read:statuses` (the public ones too: a token without
them is refused, unlike older Mastodon); `user:notification` needs `read:notifications`, and the
`user` stream carries notifications only for tokens that may read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kinfolk.api.http import as_bool, id_value
from kinfolk.api.streaming.viewer import StreamRefused, StreamViewer
from kinfolk.container import Container
from kinfolk.domain.timelines import streams
from kinfolk.domain.timelines.repo.lists import get_list
from kinfolk.text.compose import normalize_tag

HOME = "home"
PUBLIC = "public"
NOTIFICATIONS = "notifications"
DIRECT = "direct"

STREAMS = (
    "user",
    "user:notification",
    "public",
    "public:media",
    "public:local",
    "public:local:media",
    "public:remote",
    "public:remote:media",
    "hashtag",
    "hashtag:local",
    "list",
    "direct",
)

# SSE paths under /api/v1/streaming/ and the stream each one opens.
SSE_PATHS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}


@dataclass(frozen=True)
class StreamSpec:
    """One subscription: what to call it in messages, and its channels with their modes."""

    name: tuple[str, ...]
    modes: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return ";".join(sorted(self.modes))

    @property
    def channels(self) -> list[str]:
        return list(self.modes)


def _param(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _require(viewer: StreamViewer, scope: str) -> None:
    if not (viewer.has_scope("read") or viewer.has_scope(scope)):
        raise StreamRefused(401, "Access token does not have the required scopes")


async def resolve(
    container: Container, viewer: StreamViewer, stream: str | None, params: Mapping[str, Any]
) -> StreamSpec:
    """The subscription for `stream` with `params` (`tag`, `list`, `only_media`)."""
    if stream not in STREAMS:
        raise StreamRefused(400, "Unknown stream type")
    assert stream is not None
    if stream == "user:notification":
        _require(viewer, "read:notifications")
        return StreamSpec((stream,), {streams.notifications_channel(viewer.account_id): NOTIFICATIONS})
    _require(viewer, "read:statuses")
    if stream == "user":
        modes = {streams.home_channel(viewer.account_id): HOME}
        if viewer.has_scope("read:notifications"):
            modes[streams.notifications_channel(viewer.account_id)] = NOTIFICATIONS
        return StreamSpec((stream,), modes)
    if stream == "direct":
        return StreamSpec((stream,), {streams.direct_channel(viewer.account_id): DIRECT})
    if stream.startswith("public"):
        parts = stream.split(":")
        media = "media" in parts[1:] or as_bool(_param(params, "only_media"))
        local = True if "local" in parts else False if "remote" in parts else None
        name = ":".join(["public"] + [p for p in parts[1:] if p != "media"] + (["media"] if media else []))
        return StreamSpec((name,), {streams.public_channel(local=local, media=media): PUBLIC})
    if stream.startswith("hashtag"):
        tag = _param(params, "tag")
        if tag is None:
            raise StreamRefused(400, "Missing tag name parameter")
        channel = streams.hashtag_channel(normalize_tag(tag.lstrip("#")), local=stream == "hashtag:local")
        return StreamSpec((stream, tag), {channel: PUBLIC})
    list_id = _param(params, "list")
    if list_id is None:
        raise StreamRefused(400, "Missing list name parameter")
    number = id_value(list_id)
    if number is None:
        raise StreamRefused(401, "Not authorized to stream this list")
    async with container.db.uow(write=False) as uow:
        if await get_list(uow.session, viewer.account_id, number) is None:
            raise StreamRefused(401, "Not authorized to stream this list")
    return StreamSpec((stream, list_id), {streams.list_channel(number): HOME})
