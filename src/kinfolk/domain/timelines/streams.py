"""Streaming events: the channel names, and publishing after the unit of work commits.

Messages on the pub/sub say *what happened*, not how it looks: `{"event": "update",
"status_id": "1"}`. Each streaming connection renders the status for its own viewer (favourited,
filters, blocks), so the job never renders per recipient. An event is published only once the
transaction that caused it has committed: a client told about a status can always load it.

Channel names follow Mastodon's (`timeline:<account>`, `timeline:public:local`, ...), so a Redis
deployment can be inspected with the same habits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from kinfolk.db.database import UnitOfWork
from kinfolk.infra.pubsub import pubsub_for

PUBLIC = "timeline:public"


def home_channel(account_id: int) -> str:
    return f"timeline:{account_id}"


def notifications_channel(account_id: int) -> str:
    return f"timeline:{account_id}:notifications"


def direct_channel(account_id: int) -> str:
    return f"timeline:direct:{account_id}"


def list_channel(list_id: int) -> str:
    return f"timeline:list:{list_id}"


def hashtag_channel(name: str, *, local: bool = False) -> str:
    return f"timeline:hashtag:{name.lower()}" + (":local" if local else "")


def public_channel(*, local: bool | None = None, media: bool = False) -> str:
    """`timeline:public`, `...:local` or `...:remote` (local False), each with a `:media` variant."""
    name = PUBLIC
    if local is not None:
        name += ":local" if local else ":remote"
    return name + (":media" if media else "")


def system_channel(account_id: int) -> str:
    return f"timeline:system:{account_id}"


def token_channel(token_id: int) -> str:
    return f"timeline:access_token:{token_id}"


def encode(event: str, **fields: Any) -> bytes:
    return orjson.dumps({"event": event, **fields})


def decode(message: bytes) -> dict[str, Any] | None:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("event"), str) else None


def emit(uow: UnitOfWork, channels: Iterable[str], event: str, **fields: Any) -> None:
    """Publish `event` on `channels` once `uow` commits; nothing happens if it rolls back."""
    message = encode(event, **fields)
    batch = [(channel, message) for channel in dict.fromkeys(channels)]
    if not batch:
        return

    async def publish() -> None:
        pubsub = pubsub_for(uow.db)
        if pubsub is not None:
            await pubsub.publish_many(batch)

    uow.after_commit(publish)


def filters_changed(uow: UnitOfWork, account_id: int) -> None:
    """Tell the account's open streams that its filters changed (call it when they do)."""
    emit(uow, [home_channel(account_id), system_channel(account_id)], "filters_changed")


def disconnect_token(uow: UnitOfWork, token_id: int) -> None:
    """Close the streams opened with a token (call it when the token is revoked)."""
    emit(uow, [token_channel(token_id)], "kill")


def disconnect_account(uow: UnitOfWork, account_id: int) -> None:
    """Close every stream of an account (suspension, disabled login)."""
    emit(uow, [system_channel(account_id)], "kill")
