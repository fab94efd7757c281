"""WebFinger (RFC 7033) and host-meta (RFC 6415) documents for local accounts."""

from __future__ import annotations

import mimetypes
from typing import Any
from xml.sax.saxutils import quoteattr

from kinfolk.config import Settings
from kinfolk.domain.accounts.models import Account

ACTIVITY_JSON = "application/activity+json"
LD_JSON_ACTIVITYSTREAMS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def render_jrd(account: Account, settings: Settings, avatar_url: str | None = None) -> dict[str, Any]:
    uris = settings.uris
    actor = uris.account_id(account)
    profile = uris.account_page(account)
    links: list[dict[str, str]] = [
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
        # Some servers (Pleroma, Friendica) look for the JSON-LD media type instead.
        {"rel": "self", "type": LD_JSON_ACTIVITYSTREAMS, "href": actor},
        {
            "rel": "http://ostatus.org/schema/1.0/subscribe",
            "template": f"{settings.base_url}/authorize_interaction?uri={{uri}}",
        },
    ]
    if avatar_url:
        media_type = mimetypes.guess_type(avatar_url)[0] or "application/octet-stream"
        links.append({"rel": "http://webfinger.net/rel/avatar", "type": media_type, "href": avatar_url})
    return {
        "subject": f"acct:{account.username}@{settings.domain}",
        "aliases": [profile, actor],
        "links": links,
    }


def lrdd_template(settings: Settings) -> str:
    return f"{settings.base_url}/.well-known/webfinger?resource={{uri}}"


def render_host_meta_xml(settings: Settings) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(lrdd_template(settings))}/>\n'
        "</XRD>\n"
    )


def render_host_meta_json(settings: Settings) -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "template": lrdd_template(settings)}]}
