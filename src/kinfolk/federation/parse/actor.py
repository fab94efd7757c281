"""Actors (Person, Service, Application, Group, Organization) as the accounts domain stores them.

Ownership rules (security checklist 31, Misskey GHSA-m2gq): an actor whose `inbox` is on another
origin than its `id` is refused, since deliveries to it would go to a server that does not speak
for it; `outbox`, `followers`, `following`, `featured`, `featuredTags` and `endpoints.sharedInbox`
on another origin are dropped (the actor stays usable, those links are not followed). The profile
`url` only has to be http(s): it is a link for people, and servers do put profiles on other hosts.

`summary` and field values stay raw HTML: `text/sanitize.py` cleans them where they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kinfolk.federation.parse.tags import ParsedEmoji, parse_tags
from kinfolk.federation.parse.values import (
    ParseError,
    as_list,
    boolean,
    datetime_value,
    first_id,
    first_type,
    https_url,
    ids,
    link_url,
    same_origin,
    short_string,
    text,
    types,
)
from kinfolk.kernel.multikey import is_ed25519_multibase

_USERNAME = re.compile(r"[^\s@/:]+")
"""Any letters, but nothing that would make `user@host` ambiguous or a path (no spaces, `@`, `/`)."""

ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")
BOT_TYPES = frozenset({"Service", "Application"})

MAX_USERNAME = 512
MAX_NAME = 2_000
MAX_SUMMARY = 100_000
MAX_FIELDS = 50
MAX_FIELD_NAME = 2_000
MAX_FIELD_VALUE = 10_000
MAX_PEM = 16_384
MAX_ALIASES = 100


@dataclass(frozen=True, slots=True)
class ParsedField:
    """A profile field (a PropertyValue attachment); `value` is raw HTML."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ParsedActor:
    id: str
    type: str
    preferred_username: str
    inbox: str
    name: str | None = None
    summary: str | None = None
    url: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    featured: str | None = None
    featured_tags: str | None = None
    shared_inbox: str | None = None
    public_key_id: str | None = None
    public_key_pem: str | None = None
    public_key_owner: str | None = None
    # The actor's Ed25519 key (FEP-521a `assertionMethod` Multikey): its id and multibase text.
    ed25519_key_id: str | None = None
    ed25519_public_key: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    fields: tuple[ParsedField, ...] = ()
    emojis: tuple[ParsedEmoji, ...] = ()
    manually_approves_followers: bool = False
    discoverable: bool | None = None
    indexable: bool | None = None
    published: datetime | None = None
    updated: datetime | None = None
    also_known_as: tuple[str, ...] = ()
    moved_to: str | None = None
    memorial: bool = False
    suspended: bool = False
    bot: bool = False


def is_actor(doc: Mapping[str, Any]) -> bool:
    """Whether a document is typed as one of the actor types."""
    return first_type(doc, ACTOR_TYPES) is not None


def parse_actor(doc: object) -> ParsedActor:
    """An actor document as a `ParsedActor`; `ParseError` when it cannot be one (see the module)."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    actor_id = https_url(doc.get("id"))
    if actor_id is None:
        raise ParseError("the actor has no http(s) id")
    kind = first_type(doc, ACTOR_TYPES)
    if kind is None:
        raise ParseError(f"not an actor type: {types(doc)[:3]}")
    username = text(doc.get("preferredUsername"))
    if username is None or len(username) > MAX_USERNAME or not _USERNAME.fullmatch(username.strip()):
        raise ParseError("the actor has no usable preferredUsername")
    inbox = https_url(doc.get("inbox"))
    if inbox is None:
        raise ParseError("the actor has no http(s) inbox")
    if not same_origin(inbox, actor_id):
        raise ParseError("the actor's inbox is on another origin than its id")

    def own(value: object) -> str | None:
        """A collection URL of this actor, dropped when it lives on another origin."""
        url = first_id(value)
        return url if url is not None and same_origin(url, actor_id) else None

    endpoints = doc.get("endpoints")
    shared_inbox = own(endpoints.get("sharedInbox")) if isinstance(endpoints, Mapping) else None
    key_id, key_pem, key_owner = _public_key(doc.get("publicKey"), actor_id)
    ed_key_id, ed_key = _assertion_key(doc.get("assertionMethod"), actor_id)
    return ParsedActor(
        id=actor_id,
        type=kind,
        preferred_username=username.strip(),
        inbox=inbox,
        name=text(doc.get("name"), MAX_NAME) or text(doc.get("nameMap"), MAX_NAME),
        summary=text(doc.get("summary"), MAX_SUMMARY) or text(doc.get("summaryMap"), MAX_SUMMARY),
        url=link_url(doc.get("url")),
        outbox=own(doc.get("outbox")),
        followers=own(doc.get("followers")),
        following=own(doc.get("following")),
        featured=own(doc.get("featured")),
        featured_tags=own(doc.get("featuredTags")),
        shared_inbox=shared_inbox,
        public_key_id=key_id,
        public_key_pem=key_pem,
        public_key_owner=key_owner,
        ed25519_key_id=ed_key_id,
        ed25519_public_key=ed_key,
        icon_url=link_url(doc.get("icon")),
        image_url=link_url(doc.get("image")),
        fields=_fields(doc.get("attachment")),
        emojis=parse_tags(doc.get("tag")).emojis,
        manually_approves_followers=boolean(doc.get("manuallyApprovesFollowers")) or False,
        discoverable=boolean(doc.get("discoverable")),
        indexable=boolean(doc.get("indexable")),
        published=datetime_value(doc.get("published")),
        updated=datetime_value(doc.get("updated")),
        also_known_as=tuple(ids(doc.get("alsoKnownAs"), MAX_ALIASES)),
        moved_to=first_id(doc.get("movedTo")),
        memorial=boolean(doc.get("memorial")) or False,
        suspended=boolean(doc.get("suspended")) or False,
        bot=kind in BOT_TYPES,
    )


def _public_key(value: object, actor_id: str) -> tuple[str | None, str | None, str | None]:
    """(id, PEM, owner) of the actor's key: the first entry owned by the actor, else the first one.

    Whether the key really belongs to the actor (owner, origin) is the signature checker's
    question; this only reads what the document says.
    """
    candidates = [entry for entry in as_list(value, 8) if isinstance(entry, Mapping)]
    chosen = next((entry for entry in candidates if first_id(entry.get("owner")) == actor_id), None)
    if chosen is None and candidates:
        chosen = candidates[0]
    if chosen is None:
        return None, None, None
    pem = short_string(chosen.get("publicKeyPem"), MAX_PEM)
    if pem is not None and "-----BEGIN" not in pem:
        pem = None
    return https_url(chosen.get("id")), pem, first_id(chosen.get("owner"))


def _assertion_key(value: object, actor_id: str) -> tuple[str | None, str | None]:
    """(id, multibase) of the actor's first Ed25519 Multikey in `assertionMethod` whose
    controller is the actor and whose id is on the actor's origin (FEP-521a); else (None, None)."""
    for entry in as_list(value, 8):
        if not isinstance(entry, Mapping) or "Multikey" not in types(entry):
            continue
        key_id = https_url(entry.get("id"))
        if (
            key_id is None
            or first_id(entry.get("controller")) != actor_id
            or not same_origin(key_id, actor_id)
        ):
            continue
        multibase = short_string(entry.get("publicKeyMultibase"), 128)
        if multibase is not None and is_ed25519_multibase(multibase):
            return key_id, multibase
    return None, None


def _fields(value: object) -> tuple[ParsedField, ...]:
    found: list[ParsedField] = []
    for entry in as_list(value, MAX_FIELDS):
        if not isinstance(entry, Mapping) or "PropertyValue" not in types(entry):
            continue
        name = text(entry.get("name"), MAX_FIELD_NAME)
        value_html = text(entry.get("value"), MAX_FIELD_VALUE)
        if name is None or value_html is None or not name.strip():
            continue
        found.append(ParsedField(name=name, value=value_html))
    return tuple(found)
