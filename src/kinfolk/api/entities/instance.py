"""Mastodon's Instance (v2) and V1::Instance entities, and the small documents beside them.

Clients size their composers and upload checks from `configuration`, turn features on from
`version` and `api_versions`, and find the push key and the streaming URL here, so every key
Mastodon 4.5 sends is present with the type its schema gives.
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime
from typing import Any

from kinfolk import MASTODON_API_VERSION, MASTODON_COMPAT_VERSION, SOURCE_URL, __version__
from kinfolk.api.entities.rule import render_rules
from kinfolk.config import Settings
from kinfolk.domain.instance import limits
from kinfolk.domain.instance.service import Overview, WeekActivity
from kinfolk.domain.moderation.domain_blocks import obfuscated
from kinfolk.domain.moderation.models import DomainBlock
from kinfolk.kernel.clock import iso

THUMBNAIL_PATH = "/instance/thumbnail.png"


def version_string() -> str:
    """Mastodon's version first, so that libraries parsing it enable 4.5 features; then ours."""
    return f"{MASTODON_COMPAT_VERSION} (compatible; Kinfolk {__version__})"


def languages(settings: Settings) -> list[str]:
    return [code.strip().lower() for code in settings.languages.split(",") if code.strip()] or ["en"]


def thumbnail_url(settings: Settings) -> str:
    return settings.base_url + THUMBNAIL_PATH


def _urls(settings: Settings) -> dict[str, Any]:
    return {
        "streaming": settings.streaming_url,
        "status": None,
        "about": f"{settings.base_url}/about",
        "privacy_policy": f"{settings.base_url}/privacy-policy",
        "terms_of_service": None,
    }


def _statuses(settings: Settings) -> dict[str, Any]:
    return {
        "max_characters": settings.max_status_characters,
        "max_media_attachments": settings.max_media_attachments,
        "characters_reserved_per_url": limits.CHARACTERS_RESERVED_PER_URL,
    }


def _media(settings: Settings) -> dict[str, Any]:
    return {
        "description_limit": limits.MEDIA_DESCRIPTION_LIMIT,
        "image_matrix_limit": settings.image_matrix_limit,
        "image_size_limit": settings.image_size_limit,
        "supported_mime_types": list(limits.SUPPORTED_MIME_TYPES),
        "video_frame_rate_limit": settings.video_frame_rate_limit,
        "video_matrix_limit": settings.video_matrix_limit,
        "video_size_limit": settings.video_size_limit,
    }


def _polls(settings: Settings) -> dict[str, Any]:
    return {
        "max_options": settings.max_poll_options,
        "max_characters_per_option": limits.POLL_MAX_CHARACTERS_PER_OPTION,
        "min_expiration": limits.POLL_MIN_EXPIRATION,
        "max_expiration": limits.POLL_MAX_EXPIRATION,
    }


def _public_feeds() -> dict[str, str]:
    return {"local": "public", "remote": "public"}


def render_instance(
    overview: Overview, settings: Settings, vapid_public_key: str, contact: dict[str, Any] | None
) -> dict[str, Any]:
    """`contact` is the contact Account entity, rendered by api/entities/account.py."""
    return {
        "domain": settings.domain,
        "title": settings.instance_title,
        "version": version_string(),
        "source_url": SOURCE_URL,
        "description": settings.instance_description,
        "usage": {"users": {"active_month": overview.usage.active_month}},
        "thumbnail": {"url": thumbnail_url(settings)},
        "icon": [],
        "languages": languages(settings),
        "configuration": {
            "urls": _urls(settings),
            "vapid": {"public_key": vapid_public_key},
            "accounts": {
                "max_note_length": limits.MAX_NOTE_LENGTH,
                "max_featured_tags": limits.MAX_FEATURED_TAGS,
                "max_pinned_statuses": limits.MAX_PINNED_STATUSES,
                "max_profile_fields": limits.MAX_PROFILE_FIELDS,
                "profile_field_name_limit": limits.PROFILE_FIELD_NAME_LIMIT,
                "profile_field_value_limit": limits.PROFILE_FIELD_VALUE_LIMIT,
            },
            "statuses": _statuses(settings),
            "media_attachments": _media(settings),
            "polls": _polls(settings),
            "translation": {"enabled": False},
            "timelines_access": {
                "live_feeds": _public_feeds(),
                "hashtag_feeds": _public_feeds(),
                "trending_link_feeds": _public_feeds(),
            },
            "limited_federation": False,
        },
        "registrations": {
            "enabled": settings.registrations != "closed",
            "approval_required": settings.registrations == "approval",
            "reason_required": False,
            "message": None,
            "min_age": None,
            "url": None,
        },
        "api_versions": {"mastodon": MASTODON_API_VERSION},
        "contact": {"email": settings.contact_email, "account": contact},
        "rules": render_rules(overview.rules),
        "wrapstodon": None,
    }


def render_instance_v1(
    overview: Overview, settings: Settings, contact: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "uri": settings.domain,
        "title": settings.instance_title,
        "short_description": settings.instance_description,
        "description": settings.instance_description,
        "email": settings.contact_email,
        "version": version_string(),
        "urls": {"streaming_api": settings.streaming_url},
        "stats": {
            "user_count": overview.usage.user_count,
            "status_count": overview.usage.status_count,
            "domain_count": overview.usage.domain_count,
        },
        "thumbnail": thumbnail_url(settings),
        "languages": languages(settings),
        "registrations": settings.registrations != "closed",
        "approval_required": settings.registrations == "approval",
        "invites_enabled": False,
        "configuration": {
            "accounts": {
                "max_featured_tags": limits.MAX_FEATURED_TAGS,
                "max_pinned_statuses": limits.MAX_PINNED_STATUSES,
            },
            "statuses": _statuses(settings),
            "media_attachments": _media(settings),
            "polls": _polls(settings),
        },
        "contact_account": contact,
        "rules": render_rules(overview.rules),
    }


def render_activity(weeks: list[WeekActivity]) -> list[dict[str, str]]:
    return [
        {
            "week": str(int(week.week.timestamp())),
            "statuses": str(week.statuses),
            "logins": str(week.logins),
            "registrations": str(week.registrations),
        }
        for week in weeks
    ]


def render_languages(names: dict[str, str]) -> list[dict[str, str]]:
    return [{"code": code, "name": name} for code, name in names.items()]


def paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs: blank lines split paragraphs, single newlines become <br>."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in b.split("\n")) + "</p>" for b in blocks)


def render_extended_description(settings: Settings, updated_at: datetime) -> dict[str, Any]:
    return {"updated_at": iso(updated_at), "content": paragraphs(settings.instance_description)}


def render_privacy_policy(settings: Settings, updated_at: datetime) -> dict[str, Any]:
    return {"updated_at": iso(updated_at), "content": privacy_policy_html(settings)}


def privacy_policy_html(settings: Settings) -> str:
    """A plain default policy that says what the software keeps; operators should replace it."""
    domain = html.escape(settings.domain)
    contact = html.escape(settings.contact_email) if settings.contact_email else "the server's administrators"
    return (
        f"<h1>Privacy policy of {domain}</h1>"
        "<h2>What we keep</h2>"
        "<ul>"
        "<li><strong>Your account</strong>: username, e-mail address and a hash of your password.</li>"
        "<li><strong>What you publish</strong>: posts, media, your profile and whom you follow. Public "
        "posts and your profile can be read by anyone and are sent to other servers that your "
        "followers use.</li>"
        "<li><strong>Followers-only and direct posts</strong>: stored here and delivered to the servers of "
        "the people they are addressed to. Administrators of those servers and of this one can read "
        "them; do not share anything you would not want them to see.</li>"
        "<li><strong>Technical data</strong>: the address you signed up from and the time you last "
        "signed in.</li>"
        "</ul>"
        "<h2>What we do with it</h2>"
        "<p>We use this data only to run the service. We do not sell it or show advertising.</p>"
        "<h2>Deleting your data</h2>"
        "<p>When you delete your account, your posts and profile are deleted here and a deletion "
        "request is sent to the servers that received them.</p>"
        f"<p>Questions: {contact}.</p>"
    )


def render_domain_block(block: DomainBlock) -> dict[str, Any]:
    """Mastodon's DomainBlock entity: the domain (starred when obfuscated), the SHA-256 of the real
    domain so that others can still match it, the severity and the public comment."""
    return {
        "domain": obfuscated(block.domain) if block.obfuscate else block.domain,
        "digest": hashlib.sha256(block.domain.encode()).hexdigest(),
        "severity": block.severity,
        "comment": block.public_comment or None,
    }
