"""Mastodon's JSON-LD `@context`, which most servers expect verbatim on actors and objects.

Few servers run a JSON-LD processor, but the ones that do (and Mastodon's own signature checks
on forwarded activities) need every extension term we use to be defined; those that do not
match on the compact names. The map is the union Mastodon sends on actors and on statuses.
"""

from __future__ import annotations

from typing import Any

from kinfolk.federation.render.env import AS_CONTEXT

SECURITY_CONTEXT = "https://w3id.org/security/v1"
# FEP-521a: `Multikey`, `controller`, `publicKeyMultibase`, and `assertionMethod` as a set of ids.
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

_EXTENSIONS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "Emoji": "toot:Emoji",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "blurhash": "toot:blurhash",
    "votersCount": "toot:votersCount",
    "memorial": "toot:memorial",
    "suspended": "toot:suspended",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    "ostatus": "http://ostatus.org#",
    "conversation": "ostatus:conversation",
    "assertionMethod": {
        "@id": "https://w3id.org/security#assertionMethod",
        "@type": "@id",
        "@container": "@set",
    },
}


def context() -> list[Any]:
    """A fresh copy each time, so that a caller adding a term cannot change the next document."""
    return [AS_CONTEXT, SECURITY_CONTEXT, dict(_EXTENSIONS)]


def with_context(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the `@context` first, as servers print it."""
    return {"@context": context(), **document}
