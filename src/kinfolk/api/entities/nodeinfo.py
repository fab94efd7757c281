"""NodeInfo 2.0 and 2.1 documents (https://nodeinfo.diaspora.software), which crawlers and some
clients read to tell server software apart."""

from __future__ import annotations

from typing import Any

from kinfolk import SOURCE_URL, __version__
from kinfolk.config import Settings
from kinfolk.domain.instance.service import Usage

SOFTWARE_NAME = "kinfolk"
HOMEPAGE_URL = SOURCE_URL
SCHEMA_VERSIONS = ("2.0", "2.1")


def schema_url(version: str) -> str:
    return f"http://nodeinfo.diaspora.software/ns/schema/{version}"


def profile_content_type(version: str) -> str:
    return f'application/json; profile="{schema_url(version)}#"'


def render_discovery(settings: Settings) -> dict[str, Any]:
    return {
        "links": [
            {"rel": schema_url(version), "href": f"{settings.base_url}/nodeinfo/{version}"}
            for version in SCHEMA_VERSIONS
        ]
    }


def render_nodeinfo(version: str, settings: Settings, usage: Usage) -> dict[str, Any]:
    software: dict[str, Any] = {"name": SOFTWARE_NAME, "version": __version__}
    if version != "2.0":
        software |= {"repository": SOURCE_URL, "homepage": HOMEPAGE_URL}
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {
                "total": usage.user_count,
                "activeMonth": usage.active_month,
                "activeHalfyear": usage.active_halfyear,
            },
            "localPosts": usage.status_count,
        },
        "openRegistrations": settings.registrations == "open",
        "metadata": {"nodeName": settings.instance_title, "nodeDescription": settings.instance_description},
    }
