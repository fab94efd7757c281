"""A local account as an ActivityPub actor: `Person`, `Service` for bots, `Group` for groups.

Mastodon's field set, so that its servers (and the many that copy its parser) learn everything
the client API would show: profile fields as `PropertyValue`, avatar and header with their media
types, the collections, the keys other servers verify our signatures with (RSA `publicKey`, and the
Ed25519 Multikey in `assertionMethod`, FEP-521a).
"""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts.models import Account
from kinfolk.federation.render.context import MULTIKEY_CONTEXT, with_context
from kinfolk.federation.render.env import RenderEnv, ap_date, media_type_of


def actor_type(account: Account) -> str:
    if account.group:
        return "Group"
    if account.bot:
        return "Service"
    return "Person"


def _image(env: RenderEnv, key: str | None, description: str) -> dict[str, Any] | None:
    if not key:
        return None
    image: dict[str, Any] = {"type": "Image", "mediaType": media_type_of(key), "url": env.media_url(key)}
    if description:
        image["name"] = description
    return image


def _fields(account: Account) -> list[dict[str, Any]]:
    return [
        {"type": "PropertyValue", "name": str(f.get("name", "")), "value": str(f.get("value", ""))}
        for f in account.fields or []
        if isinstance(f, dict)
    ]


def _assertion_method(account: Account, key_id: str, actor_id: str) -> list[dict[str, Any]]:
    """FEP-521a: the Ed25519 key as a Multikey, for RFC 9421 `ed25519` signatures and proofs."""
    if not account.ed25519_public_key:
        return []
    return [
        {
            "id": key_id,
            "type": "Multikey",
            "controller": actor_id,
            "publicKeyMultibase": account.ed25519_public_key,
        }
    ]


def render_actor(
    env: RenderEnv,
    account: Account,
    *,
    attribution_domains: list[str] | None = None,
    emojis: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The actor document of a local account, with its `@context`."""
    uris = env.uris
    username = account.username
    actor_id = uris.account_id(account)
    document: dict[str, Any] = {
        "id": actor_id,
        "type": actor_type(account),
        "following": uris.following(username),
        "followers": uris.followers(username),
        "inbox": uris.inbox(username),
        "outbox": uris.outbox(username),
        "featured": uris.featured(username),
        "featuredTags": uris.featured_tags(username),
        "preferredUsername": username,
        "name": account.display_name,
        "summary": account.note,
        "url": uris.account_page(account),
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "published": ap_date(account.created_at),
        "memorial": account.memorial,
        "attributionDomains": list(attribution_domains or []),
        "publicKey": {
            "id": uris.key_id(username),
            "owner": actor_id,
            "publicKeyPem": account.public_key_pem,
        },
        "tag": list(emojis or []),
        "attachment": _fields(account),
        "alsoKnownAs": [],
        "endpoints": {"sharedInbox": uris.shared_inbox()},
    }
    icon = _image(env, account.avatar_key, account.avatar_description)
    if icon is not None:
        document["icon"] = icon
    image = _image(env, account.header_key, account.header_description)
    if image is not None:
        document["image"] = image
    rendered = with_context(document)
    assertion_method = _assertion_method(account, uris.ed25519_key_id(username), actor_id)
    if assertion_method:
        rendered["assertionMethod"] = assertion_method
        rendered["@context"].append(MULTIKEY_CONTEXT)
    return rendered
