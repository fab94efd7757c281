"""Posting parameters as clients send them (forms, JSON, Rails-style keys) into `PostParams`."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from kinfolk.api.http import as_bool, parse_datetime
from kinfolk.domain.instance.languages import known_language
from kinfolk.domain.polls.service import PollParams
from kinfolk.domain.statuses.service import PostParams, check_length
from kinfolk.kernel.errors import Unprocessable


def _id(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError as exc:
        raise Unprocessable(f"Validation failed: {field} is invalid") from exc
    if number < 0 or number >= 1 << 63:
        raise Unprocessable(f"Validation failed: {field} is invalid")
    return number


def _ids(value: Any, field: str) -> list[int]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    return [i for i in (_id(v, field) for v in items if v not in (None, "")) if i is not None]


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, str):
        raise Unprocessable(f"Validation failed: {field} must be a string")
    return value


def idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header as stored: any length is accepted (Mastodon keeps keys in
    Redis, unbounded); one longer than the column is kept as its SHA-256."""
    if not value:
        return None
    if len(value) <= 200:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def parse_poll(value: Any) -> PollParams | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise Unprocessable("Validation failed: Poll is invalid")
    options = value.get("options")
    if isinstance(options, dict):
        options = list(options.values())
    if not isinstance(options, list):
        raise Unprocessable("Validation failed: Poll options must be a list")
    try:
        expires_in = int(str(value.get("expires_in", 86400)).strip())
    except ValueError as exc:
        raise Unprocessable("Validation failed: Poll expires_in must be a number") from exc
    return PollParams(
        options=[_text(o, "poll options") for o in options],
        expires_in=expires_in,
        multiple=as_bool(value.get("multiple")),
        hide_totals=as_bool(value.get("hide_totals")),
    )


def parse_post(
    params: dict[str, Any], application_id: int | None, *, max_characters: int | None = None
) -> PostParams:
    """The posting parameters; with `max_characters`, text over the limit is refused here,
    before anything else is read or done (the services check it again)."""
    text = _text(params.get("status"), "status")
    spoiler_text = _text(params.get("spoiler_text"), "spoiler_text")
    if max_characters is not None:
        check_length(max_characters, text, spoiler_text)
    visibility = params.get("visibility") or None
    if visibility is not None and not isinstance(visibility, str):
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    return PostParams(
        text=text,
        media_ids=_ids(params.get("media_ids"), "media_ids"),
        in_reply_to_id=_id(params.get("in_reply_to_id"), "in_reply_to_id"),
        sensitive=as_bool(params.get("sensitive")),
        spoiler_text=spoiler_text,
        visibility=visibility,
        # An unknown language is dropped, as Mastodon does; posting then falls back to the default.
        language=known_language(params.get("language")),
        poll=parse_poll(params.get("poll")),
        quoted_status_id=_id(params.get("quoted_status_id"), "quoted_status_id"),
        quote_approval_policy=params.get("quote_approval_policy") or None,
        application_id=application_id,
        media_attributes=_media_attributes(params.get("media_attributes")),
    )


def _media_attributes(value: Any) -> list[dict[str, Any]]:
    if value in (None, "", [], {}):
        return []
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else None
    if items is None or not all(isinstance(i, dict) for i in items):
        raise Unprocessable("Validation failed: Media attributes are invalid")
    # Thumbnails stay as sent (an upload or a data URI); the rest are plain strings.
    return [{k: v if k == "thumbnail" else str(v) for k, v in i.items() if v is not None} for i in items]


def parse_scheduled_at(value: Any) -> datetime | None:
    return parse_datetime(value, "Validation failed: Scheduled at is invalid")
