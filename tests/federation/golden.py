"""What each captured document (../shared/fixtures/activitypub) becomes on this server, as the
client API shows it: the golden outcomes compared by test_golden_fixtures.py and written by
make_golden.py.

Each document goes through the code the inbox and the fetcher use, without the network:
- a post (or a `Create`/`Update`/`Announce` carrying one, unwrapped as the inbox does) is parsed
  and stored by `dereference.store_fetched_note` for an author stored first (the corpus's own
  actor document when it has one for that id, else a minimal Person at that id), then rendered
  as the status entity (an `Update` too: the post as it would be stored when fetched, since an
  Update of a post not stored here creates nothing);
- an actor is stored by `dereference.store_actor` and rendered as the account entity;
- anything else (other activities, collections, WebFinger, NodeInfo, tombstones) is recorded as
  what the parser reads from it, since nothing of it is shown as a status or an account;
- a document that is refused records the reason.

Each document is handled in its own unit of work that is rolled back, so every outcome depends
on its document (and its author's) alone, never on the order the files are read in.
Volatile values (database ids, the time of the run, our own origin) are normalised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from kinfolk.api.entities.account import render_account
from kinfolk.api.entities.status import render_status
from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.federation import dereference
from kinfolk.federation.parse.activity import parse_activity
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.discovery import parse_nodeinfo, parse_nodeinfo_links, parse_webfinger
from kinfolk.federation.parse.object import is_note, parse_emoji, parse_note, parse_tombstone
from kinfolk.federation.parse.shape import Shape, shape_of
from kinfolk.federation.parse.values import ParseError, first_id, same_origin
from kinfolk.kernel.clock import utcnow

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "activitypub"
GOLDEN = Path(__file__).resolve().parent / "golden"
UNWRAPPED = ("Create", "Update", "Announce")
MAX_NESTING = 3


class _RollBack(Exception):
    """Raised at the end of each document's unit of work so nothing it stored stays."""


def fixture_paths() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.json"))


def golden_path(path: Path) -> Path:
    return GOLDEN / path.relative_to(FIXTURES)


def corpus_actors() -> dict[str, dict[str, Any]]:
    """Every actor document of the corpus by id: a post's author is its real profile when captured."""
    found: dict[str, dict[str, Any]] = {}
    for path in fixture_paths():
        doc = _load(path)
        if isinstance(doc, dict) and shape_of(doc) == Shape.ACTOR and isinstance(doc.get("id"), str):
            found.setdefault(doc["id"], doc)
    return found


def _load(path: Path) -> object:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None


def _minimal_actor(uri: str) -> dict[str, Any]:
    name = [part for part in urlsplit(uri).path.split("/") if part][-1:] or ["author"]
    return {
        "id": uri,
        "type": "Person",
        "preferredUsername": name[0].lstrip("@~") or "author",
        "inbox": f"{uri}/inbox",
        "followers": f"{uri}/followers",
    }


async def outcome(container: Container, path: Path, actors: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The normalised outcome of one fixture file (see the module)."""
    doc = _load(path)
    if doc is None:
        return {"refused": "not JSON"}
    uow = container.db.uow()
    result: dict[str, Any] = {}
    try:
        async with uow:
            result = await _outcome(container, uow, doc, actors)
            raise _RollBack
    except _RollBack:
        pass
    return normalise(result, container)


async def _outcome(
    container: Container, uow: UnitOfWork, doc: object, actors: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    shape = shape_of(doc)
    try:
        if shape == Shape.NOTE:
            return await _status(container, uow, doc, actors)
        if shape == Shape.ACTOR:
            parsed_actor = parse_actor(doc)
            account = await dereference.store_actor(container, parsed_actor, uow=uow)
            if account is None:
                return {"refused": "the actor was not stored"}
            return {"account": await render_account(uow.session, account, container)}
        if shape == Shape.ACTIVITY:
            return await _activity(container, uow, doc, actors)
        if shape == Shape.COLLECTION:
            collection = parse_collection(doc)
            return {
                "collection": {
                    "type": collection.type,
                    "total_items": collection.total_items,
                    "item_ids": list(collection.item_ids),
                    "first": collection.first,
                    "next": collection.next,
                }
            }
        if shape == Shape.TOMBSTONE:
            tombstone = parse_tombstone(doc)
            return {"tombstone": {"id": tombstone.id, "former_type": tombstone.former_type}}
        if shape == Shape.EMOJI:
            emoji = parse_emoji(doc)
            return {"emoji": {"shortcode": emoji.shortcode, "url": emoji.icon_url}}
        if shape == Shape.WEBFINGER:
            finger = parse_webfinger(doc)
            return {"webfinger": {"subject": finger.subject, "actor": finger.actor_url}}
        if shape == Shape.NODEINFO:
            info = parse_nodeinfo(doc)
            return {"nodeinfo": {"software": info.software_name, "protocols": list(info.protocols)}}
        if shape == Shape.NODEINFO_LINKS:
            return {"nodeinfo_links": [list(link) for link in parse_nodeinfo_links(doc).links]}
    except ParseError as exc:
        return {"refused": str(exc)}
    return {"refused": "not a document this server reads"}


async def _activity(
    container: Container, uow: UnitOfWork, doc: object, actors: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """An activity: the post it carries (as the inbox stores it), or its envelope."""
    activity = parse_activity(doc)
    envelope = {
        "type": activity.type,
        "actor": activity.actor,
        "object": activity.object_id,
        "target": activity.target,
    }
    inner: object = activity.object
    nesting = 0
    while (
        isinstance(inner, Mapping)
        and not is_note(inner)
        and shape_of(inner) == Shape.ACTIVITY
        and nesting < MAX_NESTING
    ):
        nesting += 1
        inner = inner.get("object")
    if activity.type not in UNWRAPPED or not isinstance(inner, Mapping) or not is_note(inner):
        return {"activity": envelope}
    if activity.type != "Announce" and not same_origin(first_id(inner), activity.actor):
        return {"activity": envelope, "refused": "the object is not on the actor's origin"}
    found = await _status(container, uow, inner, actors)
    return {"activity": envelope, **found}


async def _status(
    container: Container, uow: UnitOfWork, doc: object, actors: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    parsed = parse_note(doc)
    if not same_origin(parsed.attributed_to, parsed.id):
        return {"refused": "the author is not on the post's origin"}
    actor_doc = actors.get(parsed.attributed_to) or _minimal_actor(parsed.attributed_to)
    author = await dereference.store_actor(container, parse_actor(actor_doc), uow=uow)
    if author is None:
        return {"refused": "the author was not stored"}
    status = await dereference.store_fetched_note(
        container, parsed, author=author, uow=uow, depth=dereference.MAX_REPLY_DEPTH
    )
    if status is None:
        return {"refused": "the store refused the post"}
    return {"status": await render_status(uow.session, container, status, None)}


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DB_ID_KEYS = frozenset({"id", "in_reply_to_id", "in_reply_to_account_id"})


def normalise(value: Any, container: Container) -> Any:
    """Database ids as "<id>", times of this run as "<now>" (or "<now+N days>"), our origin as
    "<local>": what differs between runs and databases, nothing else."""
    now = utcnow()
    local = container.uris.base

    def walk(item: Any, key: str | None) -> Any:
        if isinstance(item, dict):
            return {k: walk(v, k) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, key) for v in item]
        if isinstance(item, str):
            if key in _DB_ID_KEYS and item.isdigit():
                return "<id>"
            if _ISO.match(item):
                return _time(item, now)
            if _DATE.match(item) and abs((now.date() - date.fromisoformat(item)).days) <= 1:
                return "<today>"  # last_status_at: the day of the run (a day either way at midnight)
            if local in item:
                return item.replace(local, "<local>")
        return item

    return walk(value, None)


def _time(value: str, now: datetime) -> str:
    """A time this run made: now (within the hour), today's midnight (an account's
    `created_at` is the day it was first seen, as on Mastodon), or a whole number of days ahead
    (a poll without an end gets one a year on). Never a past day: a document's own times (an
    actor published at midnight years ago) would otherwise match whenever a run starts near
    midnight."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if moment in (midnight, midnight - timedelta(days=1)):
        return "<today>"  # the day of the run (a day either way at midnight)
    if abs(moment - now) < timedelta(hours=1):
        return "<now>"
    days = round((moment - now) / timedelta(days=1))
    if days > 0 and abs(moment - now - timedelta(days=days)) < timedelta(hours=1):
        return f"<now{days:+d} days>"
    return value
