"""Who is streaming: the token (from the Authorization header, the `access_token` query
parameter, or the `Sec-WebSocket-Protocol` header, as Mastodon accepts), its user and scopes.

Since Mastodon 4.2 every stream needs a user token; an app-only token is refused like an invalid
one. The token is checked again while the stream is open, so that a revoked token, a disabled
user or a suspended account ends the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from kinfolk.container import Container
from kinfolk.domain.oauth.scopes import covers
from kinfolk.domain.oauth.service import lookup_token


class StreamRefused(Exception):
    """A request the streaming API answers with an error (status and Mastodon's message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StreamViewer:
    token: str
    token_id: int
    account_id: int
    scopes: tuple[str, ...]
    # True when the token came as the WebSocket subprotocol, which must then be echoed back.
    via_subprotocol: bool = False

    def has_scope(self, scope: str) -> bool:
        return covers(list(self.scopes), scope)


def token_from(connection: HTTPConnection) -> tuple[str | None, bool]:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip(), False
    query = connection.query_params.get("access_token", "").strip()
    if query:
        return query, False
    protocol = connection.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    return (protocol or None), bool(protocol)


async def authenticate(container: Container, connection: HTTPConnection) -> StreamViewer:
    token, via_subprotocol = token_from(connection)
    if token is None:
        raise StreamRefused(401, "Missing access token")
    viewer = await check(container, token)
    if viewer is None:
        raise StreamRefused(401, "Invalid access token")
    return StreamViewer(viewer.token, viewer.token_id, viewer.account_id, viewer.scopes, via_subprotocol)


async def check(container: Container, token: str) -> StreamViewer | None:
    """The token's viewer if it is still usable by a user, else None."""
    async with container.db.uow(write=False) as uow:
        owner = await lookup_token(uow.session, token)
        if owner is None or owner.account is None or owner.user is None:
            return None
        return StreamViewer(
            token=token,
            token_id=owner.token.id,
            account_id=owner.account.id,
            scopes=tuple(owner.token.scope_list),
        )
