"""WebFinger (RFC 7033 JRD) and NodeInfo documents: not ActivityStreams, but fetched from the same
servers to find actors and describe instances, and held to the same rules (bounded lists, http(s)
links only, one exception type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kinfolk.federation.parse.values import ParseError, as_list, boolean, count, https_url, short_string

ACTIVITY_JSON_TYPES = frozenset(
    {
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    }
)
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
NODEINFO_REL = re.compile(r"https?://nodeinfo\.diaspora\.software/ns/schema/(\d+(?:\.\d+)?)")
MAX_LINKS = 50
MAX_ALIASES = 20
MAX_SUBJECT = 1_024
MAX_NAME = 255
MAX_PROTOCOLS = 20


@dataclass(frozen=True, slots=True)
class ParsedWebFinger:
    subject: str
    actor_url: str
    """The `self` link typed as ActivityStreams JSON: the actor to fetch."""
    aliases: tuple[str, ...] = ()
    profile_page: str | None = None
    subscribe_template: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedNodeInfoLinks:
    """`/.well-known/nodeinfo`: schema version -> document URL, newest first."""

    links: tuple[tuple[str, str], ...]

    @property
    def best(self) -> str:
        return self.links[0][1]


@dataclass(frozen=True, slots=True)
class ParsedNodeInfo:
    software_name: str
    software_version: str | None = None
    version: str | None = None
    protocols: tuple[str, ...] = ()
    open_registrations: bool | None = None
    users_total: int | None = None
    users_active_month: int | None = None
    users_active_halfyear: int | None = None
    local_posts: int | None = None


def is_webfinger(doc: Mapping[str, Any]) -> bool:
    return "subject" in doc and "links" in doc and "type" not in doc


def is_nodeinfo_links(doc: Mapping[str, Any]) -> bool:
    return set(doc) == {"links"}


def is_nodeinfo(doc: Mapping[str, Any]) -> bool:
    return "software" in doc and "protocols" in doc and "type" not in doc


def parse_webfinger(doc: object) -> ParsedWebFinger:
    """A JRD; `ParseError` when it has no subject or no ActivityPub `self` link (an OStatus-only
    account cannot be followed from here)."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    subject = short_string(doc.get("subject"), MAX_SUBJECT)
    if subject is None:
        raise ParseError("the WebFinger document has no subject")
    actor_url: str | None = None
    profile_page: str | None = None
    subscribe: str | None = None
    for link in as_list(doc.get("links"), MAX_LINKS):
        if not isinstance(link, Mapping):
            continue
        rel = link.get("rel")
        if rel == "self" and link.get("type") in ACTIVITY_JSON_TYPES and actor_url is None:
            actor_url = https_url(link.get("href"))
        elif rel == PROFILE_PAGE_REL and profile_page is None:
            profile_page = https_url(link.get("href"))
        elif rel == SUBSCRIBE_REL and subscribe is None:
            template = short_string(link.get("template"), 2_048)
            subscribe = template if template and https_url(template.replace("{uri}", "x")) else None
    if actor_url is None:
        raise ParseError("the WebFinger document has no ActivityPub self link")
    aliases = [https_url(alias) for alias in as_list(doc.get("aliases"), MAX_ALIASES)]
    return ParsedWebFinger(
        subject=subject,
        actor_url=actor_url,
        aliases=tuple(alias for alias in aliases if alias is not None),
        profile_page=profile_page,
        subscribe_template=subscribe,
    )


def parse_nodeinfo_links(doc: object) -> ParsedNodeInfoLinks:
    """`/.well-known/nodeinfo`; `ParseError` when it lists no NodeInfo schema link."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    found: list[tuple[tuple[int, ...], str, str]] = []
    for link in as_list(doc.get("links"), MAX_LINKS):
        if not isinstance(link, Mapping) or not isinstance(link.get("rel"), str):
            continue
        match = NODEINFO_REL.fullmatch(link["rel"])
        href = https_url(link.get("href"))
        if match is None or href is None:
            continue
        version = match.group(1)
        found.append((tuple(int(part) for part in version.split(".")), version, href))
    if not found:
        raise ParseError("the NodeInfo index lists no NodeInfo schema")
    found.sort(key=lambda entry: entry[0], reverse=True)
    return ParsedNodeInfoLinks(links=tuple((version, href) for _, version, href in found))


def parse_nodeinfo(doc: object) -> ParsedNodeInfo:
    """A NodeInfo 2.x document; `ParseError` when it names no software."""
    if not isinstance(doc, Mapping):
        raise ParseError("the document is not a JSON object")
    software = doc.get("software")
    name = short_string(software.get("name"), MAX_NAME) if isinstance(software, Mapping) else None
    if name is None or not isinstance(software, Mapping):
        raise ParseError("the NodeInfo document names no software")
    protocols = doc.get("protocols")
    if isinstance(protocols, Mapping):  # NodeInfo 1.x wrote {"inbound": [...], "outbound": [...]}
        protocols = protocols.get("inbound")
    usage = doc.get("usage")
    users = usage.get("users") if isinstance(usage, Mapping) else None
    users = users if isinstance(users, Mapping) else {}
    return ParsedNodeInfo(
        software_name=name,
        software_version=short_string(software.get("version"), MAX_NAME),
        version=short_string(doc.get("version"), 16),
        protocols=tuple(
            entry
            for entry in as_list(protocols, MAX_PROTOCOLS)
            if isinstance(entry, str) and len(entry) <= MAX_NAME
        ),
        open_registrations=boolean(doc.get("openRegistrations")),
        users_total=count(users.get("total")),
        users_active_month=count(users.get("activeMonth")),
        users_active_halfyear=count(users.get("activeHalfyear")),
        local_posts=count(usage.get("localPosts")) if isinstance(usage, Mapping) else None,
    )
