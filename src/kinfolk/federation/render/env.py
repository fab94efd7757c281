"""What every renderer needs besides rows: the URI scheme and where stored files are served."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kinfolk.kernel.uris import Uris

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


@dataclass(frozen=True)
class RenderEnv:
    """`media_url` turns a storage key into its public URL (local directory or S3 bucket)."""

    uris: Uris
    domain: str
    media_url: Callable[[str], str]


def ap_time(value: datetime | None) -> str | None:
    """ActivityStreams timestamps as Mastodon writes them: UTC, whole seconds, a Z."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ap_date(value: datetime) -> str:
    """An account's `published`: the day only, as Mastodon shows it (no finer trace of sign-up)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT00:00:00Z")


def media_type_of(url_or_key: str) -> str:
    return mimetypes.guess_type(url_or_key)[0] or "application/octet-stream"
