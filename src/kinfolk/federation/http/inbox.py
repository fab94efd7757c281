"""`POST /inbox` and `POST /users/{username}/inbox`: verify, store once, answer 202.

Nothing slow happens here beyond, for a key we never saw, one fetch of it. The steps run
cheapest first, and each refusal stores nothing:

1. the body, read with a 1 MB cap (413), and its content type (415);
2. the signature's key-free checks (400/401) over the raw request target as it came on the
   wire: RFC 9421 (`message_signatures.check_message`) when a `Signature-Input` is present,
   else draft-cavage (`signatures.check_request`), as `settings.http_signatures` allows;
3. the key's domain under a `suspend` block (`domain_blocks.PolicyCache`): 403 before any fetch;
4. the activity's envelope (400), whose actor must not claim this server (checklist 33);
5. the key (`keys.key_for`: stored, else fetched within the per-source budget of
   `keys.fetch_budget`, 429 with Retry-After past it; private addresses refused, 401), the
   signature verified, and on failure with a stored key one refetch for key rotation;
6. the signer must be the activity's actor (401 "Key mismatch", checklist 18/19); a `Delete`
   from an actor we never knew is acknowledged without any fetch (dead servers send many).
   One exception, forwarding (another server passing on a reply to its users' post, or its
   edit or deletion): a `Create`, `Update` or `Delete` signed by someone else whose object id
   is on the actor's origin is accepted, and the ingress job believes nothing of it but asks
   that origin (checklists 23-25: a Create's or an Update's object is fetched from there and
   that version applied; a Delete is applied only when the origin says the object is gone);
7. a suspended actor may only retract (Delete, Undo, Reject): else 403;
8. one unit of work: the `inbox_activities` row (a repeated id is a no-op) and its
   `federation.ingress` job, both prepared statements (an ORM insert cost more than its SQL,
   bench/RESULTS.md, G3). 202.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request
from starlette.responses import Response

from kinfolk.api.app import get_container
from kinfolk.api.http import json_response
from kinfolk.container import Container
from kinfolk.db.prepared import Prepared, run_in
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance.delivery_hosts import mark_domain_alive
from kinfolk.domain.moderation.domain_blocks import normalize_domain, policy_cache
from kinfolk.federation import keys
from kinfolk.federation.message_signatures import check_message, has_message_signature, verify_message
from kinfolk.federation.models import InboxActivity
from kinfolk.federation.parse.activity import ParsedActivity, parse_activity
from kinfolk.federation.parse.values import ParseError, host, https_url, same_origin
from kinfolk.federation.signatures import SignatureError, check_request, verify
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import Unprocessable
from kinfolk.kernel.ids import new_id

MAX_INBOX_BYTES = 1024 * 1024
CONTENT_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})
# What a suspended actor may still send: taking things back.
RETRACTIONS = frozenset({"Delete", "Undo", "Reject"})


class Refused(Exception):
    def __init__(self, status: int, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def response(self) -> Response:
        """Mastodon's error body; a 429 says when to come back (Mastodon's delivery retries
        429, as it does 401, with its back-off; others honour Retry-After)."""
        answer = _error(self.status, self.reason)
        if self.retry_after is not None:
            answer.headers["Retry-After"] = str(math.ceil(self.retry_after))
        return answer


def _error(status: int, reason: str) -> Response:
    return json_response({"error": reason}, status_code=status)


def _accepted() -> Response:
    return Response(status_code=202)


async def read_capped(request: Request, limit: int = MAX_INBOX_BYTES) -> bytes:
    """The body, refused (413) as soon as it passes `limit`, whatever Content-Length said."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, "Request entity too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "Request entity too large")
        chunks.append(chunk)
    return b"".join(chunks)


def request_target(request: Request) -> str:
    """Path and query exactly as the client sent them (percent-encoding kept): what was signed."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes | bytearray) else request.url.path
    query = request.scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")


def key_domain(key_id: str) -> str | None:
    """The domain a block would name for the key's host; None for an IP literal (no block names
    one; the transport's guard decides whether it may be reached)."""
    found = host(key_id)
    if found is None:
        raise Refused(401, "Invalid keyId: not an http(s) URL")
    bare = found.rsplit(":", 1)[0] if found.count(":") == 1 else found
    if bare.startswith("[") or bare.replace(".", "").isdigit():
        return None
    try:
        return normalize_domain(found)
    except Unprocessable as exc:
        raise Refused(401, "Invalid keyId host") from exc


async def _local_inbox_exists(container: Container, username: str) -> bool:
    async with container.db.uow(write=False) as uow:
        found = await uow.session.execute(
            select(Account.id).where(
                Account.domain.is_(None), Account.username == username, Account.suspended_at.is_(None)
            )
        )
        return found.first() is not None


async def _actor_known(container: Container, actor_uri: str) -> bool:
    async with container.db.uow(write=False) as uow:
        found = await uow.session.execute(select(Account.id).where(Account.uri == actor_uri))
        return found.first() is not None


FORWARDABLE = frozenset({"Create", "Update", "Delete"})


def _refetchable(container: Container, activity: ParsedActivity) -> bool:
    """A forwarded activity we may act on without believing it: its object is named by an
    http(s) id on the actor's origin (not ours), which the ingress job asks about there."""
    object_id = activity.object_id
    if activity.type not in FORWARDABLE or object_id is None or https_url(object_id) is None:
        return False
    return same_origin(object_id, activity.actor) and not container.uris.is_local(object_id)


def _parse(body: bytes) -> tuple[dict[str, object], ParsedActivity]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, "Error parsing JSON") from exc
    if not isinstance(document, dict):
        raise Refused(400, "Error parsing JSON: not an object")
    try:
        return document, parse_activity(document)
    except ParseError as exc:
        raise Refused(400, f"Invalid activity: {exc}") from exc


@dataclass(frozen=True)
class IncomingSignature:
    """A request's signature after its key-free checks: the key it names, and how to check it
    once that key is found (an RSA PEM, or an Ed25519 Multikey for RFC 9421)."""

    key_id: str
    verify: Callable[[str], None]


def target_uri(container: Container, request: Request, target: str) -> str:
    """The absolute URL the sender addressed (RFC 9421 `@target-uri`): our scheme, the Host it
    named (the host check let it through) and the target as on the wire."""
    authority = request.headers.get("host") or container.settings.domain
    return f"{container.settings.protocol}://{authority}{target}"


def checked_signature(
    container: Container, request: Request, method: str, target: str, body: bytes | None
) -> IncomingSignature:
    """The key-free checks of whichever signature the request carries: RFC 9421 when it has a
    `Signature-Input` (even beside a cavage one), else draft-cavage; `settings.http_signatures`
    may allow only one of them. Raises `SignatureError`."""
    mode = container.settings.http_signatures
    headers = request.headers
    if mode != "cavage" and has_message_signature(headers):
        message = check_message(method, headers, body)
        uri = target_uri(container, request, target)
        return IncomingSignature(
            message.key_id, lambda key: verify_message(message, method, uri, headers, body, key)
        )
    if mode == "rfc9421":
        raise SignatureError("Request not signed with an RFC 9421 HTTP Message Signature")
    params = check_request(method, target, headers, body)
    return IncomingSignature(params.key_id, lambda key: verify(params, method, target, headers, key))


_ROW_COLUMNS = ("id", "uri", "actor_id", "type", "raw", "received_at", "processed_at", "outcome")


@cache
def _insert_row(dialect: str) -> Prepared:
    """The `inbox_activities` row, a repeated id doing nothing; built once per database."""
    table = InboxActivity.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(InboxActivity).values(
        {name: bindparam(name, type_=table.c[name].type) for name in _ROW_COLUMNS}
    )
    return Prepared(stmt.on_conflict_do_nothing(index_elements=["uri"]).returning(InboxActivity.id))


async def domain_suspended(container: Container, domain: str | None) -> bool:
    """Whether the key's domain is under a `suspend` block (answers cached, see PolicyCache)."""
    return (await policy_cache(container.extras).policy(container.db, domain)).suspended


async def verified_signer(
    container: Container, request: Request, signature: IncomingSignature
) -> tuple[keys.KeyOwner, str]:
    """The verified signer's account (key fetched when unknown, refetched once on failure).
    Shared with the signed GETs of secure mode (`http/authorized.py`)."""
    key_id = signature.key_id
    cached = await keys.known_key(container, key_id)
    if cached is None:
        source = request.client.host if request.client is not None else None
        wait = await keys.fetch_budget(container, source, key_id)
        if wait is not None:
            raise Refused(429, "Too many unknown keys: try again later", retry_after=wait)
    try:
        found = cached or await keys.key_for(container, key_id)
    except (keys.KeyRefused, keys.KeyUnavailable) as exc:
        raise Refused(401, exc.reason) from exc
    if found is None:
        raise Refused(401, f"Unable to fetch key {key_id}")
    try:
        signature.verify(found[1])
        return found
    except SignatureError as first_failure:
        if cached is None:
            raise Refused(first_failure.status, first_failure.reason) from first_failure
        try:
            again = await keys.key_for(container, key_id, refresh=True)
        except (keys.KeyRefused, keys.KeyUnavailable):
            again = None
        if again is None or again[1] == found[1]:
            raise Refused(first_failure.status, first_failure.reason) from first_failure
        try:
            signature.verify(again[1])
        except SignatureError as exc:
            raise Refused(exc.status, exc.reason) from exc
        return again


async def _receive(request: Request, container: Container, username: str | None) -> Response:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await read_capped(request)
    if media_type not in CONTENT_TYPES:
        raise Refused(415, "Unsupported Media Type: send application/activity+json")
    if username is not None and not await _local_inbox_exists(container, username):
        raise Refused(404, "Record not found")
    target = request_target(request)
    try:
        signature = checked_signature(container, request, "POST", target, body)
    except SignatureError as exc:
        raise Refused(exc.status, exc.reason) from exc
    if await domain_suspended(container, key_domain(signature.key_id)):
        raise Refused(403, "Domain is blocked")
    document, activity = _parse(body)
    uris = container.uris
    if uris.is_local(activity.actor) or uris.is_local(activity.id):
        raise Refused(401, "Activity claims to come from this server")
    if activity.type == "Delete" and not await _actor_known(container, activity.actor):
        return _accepted()  # a Delete from someone we never knew: nothing of theirs to remove
    signer, _ = await verified_signer(container, request, signature)
    if signer.uri != activity.actor and not _refetchable(container, activity):
        raise Refused(401, f"Key mismatch: signed by {signer.uri}, not by the actor {activity.actor}")
    if signer.suspended and activity.type not in RETRACTIONS:
        raise Refused(403, "Actor is suspended")
    row = {
        "id": new_id(),
        "uri": activity.id,
        "actor_id": signer.account_id,
        "type": activity.type[:64],
        "raw": document,
        "received_at": utcnow(),
        "processed_at": None,
        "outcome": "",
    }
    async with container.db.uow() as uow:
        inserted = await run_in(uow.session, _insert_row(uow.db.dialect), row)
        if inserted:
            await uow.enqueue("federation.ingress", {"id": inserted[0][0]})
        sender_host = host(signer.uri) if signer.domain is not None else None
        if sender_host is not None:
            # A server that talks to us is up: deliveries to it resume at once (checklist H.76).
            # Its host, not the handle's domain (a split-domain server is reached at its host).
            await mark_domain_alive(uow.session, sender_host)
    return _accepted()


async def shared_inbox(request: Request) -> Response:
    try:
        return await _receive(request, get_container(request), None)
    except Refused as exc:
        return exc.response()


async def user_inbox(request: Request) -> Response:
    try:
        return await _receive(request, get_container(request), request.path_params["username"])
    except Refused as exc:
        return exc.response()
