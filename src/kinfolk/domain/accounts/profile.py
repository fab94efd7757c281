"""Profile rules: what a local user may put in their profile, and how it becomes HTML.

Stored shapes (the `accounts` and `users` columns are JSON, so they are fixed here):

- `Account.note_source` is the plain text the user typed; `Account.note` the HTML shown.
- `Account.fields` is a list of `{"name": plain, "value": HTML, "source": plain,
  "verified_at": ISO 8601 or None}`. Remote accounts have no `source`.
- `User.settings` keys owned here (Mastodon's setting names): `default_privacy`,
  `default_sensitive`, `default_language`, `default_quote_policy`, `attribution_domains`,
  `noindex`, `expand_media`, `expand_spoilers`, `autoplay_gifs`. Read them through
  `posting_defaults` / `reading_preferences` rather than directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kinfolk.domain.accounts.models import User
from kinfolk.domain.instance.languages import known_language
from kinfolk.kernel.errors import Unprocessable

DISPLAY_NAME_MAX = 30
NOTE_MAX = 500
FIELDS_MAX = 4
FIELD_NAME_MAX = 255
FIELD_VALUE_MAX = 255
ATTRIBUTION_DOMAINS_MAX = 10
# Alt text of avatars and headers: as long as a media description may be.
IMAGE_DESCRIPTION_MAX = 1500
PRIVACY_CHOICES = ("public", "unlisted", "private")
QUOTE_POLICIES = ("public", "followers", "nobody")
EXPAND_MEDIA_CHOICES = ("default", "show_all", "hide_all")
# Uploaded avatars and headers larger than this are refused before decoding (Mastodon: 8 MB).
PROFILE_IMAGE_MAX_BYTES = 8 * 1024 * 1024

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")

REMOVE: Literal["remove"] = "remove"
ImageInput = bytes | Literal["remove"] | None


@dataclass
class PostingDefaults:
    privacy: str = "public"
    sensitive: bool = False
    language: str | None = None
    quote_policy: str = "public"


@dataclass
class ReadingPreferences:
    expand_media: str = "default"
    expand_spoilers: bool = False
    autoplay_gifs: bool = False


def posting_defaults(user: User) -> PostingDefaults:
    """What new statuses default to; tolerant of settings written by older versions."""
    s = user.settings or {}
    privacy = s.get("default_privacy")
    quote_policy = s.get("default_quote_policy")
    language = s.get("default_language")
    return PostingDefaults(
        privacy=privacy if privacy in (*PRIVACY_CHOICES, "direct") else "public",
        sensitive=bool(s.get("default_sensitive", False)),
        language=language if isinstance(language, str) and language else None,
        quote_policy=quote_policy if quote_policy in QUOTE_POLICIES else "public",
    )


def reading_preferences(user: User) -> ReadingPreferences:
    s = user.settings or {}
    expand_media = s.get("expand_media")
    return ReadingPreferences(
        expand_media=expand_media if expand_media in EXPAND_MEDIA_CHOICES else "default",
        expand_spoilers=bool(s.get("expand_spoilers", False)),
        autoplay_gifs=bool(s.get("autoplay_gifs", False)),
    )


def attribution_domains(user: User) -> list[str]:
    value = (user.settings or {}).get("attribution_domains")
    return [str(v) for v in value] if isinstance(value, list) else []


class ValidationErrors:
    """Collects every problem before failing, so one 422 names them all, as Rails does."""

    def __init__(self) -> None:
        self.details: dict[str, list[dict[str, str]]] = {}

    def add(self, field_name: str, code: str, description: str) -> None:
        self.details.setdefault(field_name, []).append({"error": code, "description": description})

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_if_any(self) -> None:
        if not self.details:
            return
        parts: list[str] = []
        for name, items in self.details.items():
            label = name.replace("_", " ").replace(".", " ").capitalize()
            parts.extend(f"{label} {item['description']}" for item in items)
        raise Unprocessable("Validation failed: " + ", ".join(parts), details=self.details)


@dataclass
class ProfileChanges:
    """A validated update: None means "leave as it is"."""

    display_name: str | None = None
    note: str | None = None
    fields: list[tuple[str, str]] | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    hide_collections: bool | None = None
    avatar_description: str | None = None
    header_description: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    attribution_domains: list[str] | None = None


_FALSE_VALUES = {"0", "f", "false", "off", "no"}


def _bool(value: Any) -> bool | None:
    """Rails' casting: listed false values are false, blank is "not given", anything else true."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        return text not in _FALSE_VALUES
    return None


def _text(value: Any, name: str, errors: ValidationErrors) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        errors.add(name, "ERR_INVALID", "is invalid")
        return None
    return value


def _field_items(raw: Any) -> list[Any] | None:
    """`fields_attributes` as a list: a JSON array, or Rails' hash keyed by (ignored) indexes."""
    if raw is None:
        return None
    if isinstance(raw, list):
        return raw
    if isinstance(raw, dict):
        return list(raw.values())
    return []


def _parse_fields(raw: Any, errors: ValidationErrors) -> list[tuple[str, str]] | None:
    items = _field_items(raw)
    if items is None:
        return None
    fields: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            errors.add("fields", "ERR_INVALID", "is invalid")
            continue
        name = _text(item.get("name"), "fields", errors) or ""
        value = _text(item.get("value"), "fields", errors) or ""
        name, value = name.strip(), value.strip()
        if not name and not value:
            continue
        if len(name) > FIELD_NAME_MAX:
            errors.add("fields", "ERR_TOO_LONG", f"name is too long (maximum is {FIELD_NAME_MAX} characters)")
        if len(value) > FIELD_VALUE_MAX:
            errors.add(
                "fields", "ERR_TOO_LONG", f"value is too long (maximum is {FIELD_VALUE_MAX} characters)"
            )
        fields.append((name, value))
    if len(fields) > FIELDS_MAX:
        errors.add("fields", "ERR_TOO_LONG", f"is too long (maximum is {FIELDS_MAX} fields)")
    return fields


def _parse_attribution_domains(raw: Any, errors: ValidationErrors) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw] if raw.strip() else []
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list):
        errors.add("attribution_domains", "ERR_INVALID", "is invalid")
        return None
    domains: dict[str, None] = {}
    for item in raw:
        text = item.strip().lower().rstrip(".") if isinstance(item, str) else ""
        if text.startswith("*."):
            text = text[2:]
        if not text:
            continue
        if not _DOMAIN_RE.match(text):
            errors.add("attribution_domains", "ERR_INVALID", f"contains an invalid domain: {text[:100]}")
            continue
        domains.setdefault(text, None)
    if len(domains) > ATTRIBUTION_DOMAINS_MAX:
        errors.add(
            "attribution_domains",
            "ERR_TOO_LONG",
            f"is too long (maximum is {ATTRIBUTION_DOMAINS_MAX} domains)",
        )
    return list(domains)


def _parse_source(raw: Any, errors: ValidationErrors) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add("source", "ERR_INVALID", "is invalid")
        return {}
    settings: dict[str, Any] = {}
    privacy = raw.get("privacy")
    if privacy is not None and privacy != "":
        if privacy in PRIVACY_CHOICES:
            settings["default_privacy"] = privacy
        else:
            errors.add("source.privacy", "ERR_INCLUSION", f"must be one of {', '.join(PRIVACY_CHOICES)}")
    sensitive = _bool(raw.get("sensitive"))
    if sensitive is not None:
        settings["default_sensitive"] = sensitive
    if "language" in raw:
        language = raw.get("language")
        if language is None or (isinstance(language, str) and not language.strip()):
            settings["default_language"] = None
        else:
            # An unknown language is dropped to none (Mastodon's posting cascade then skips it).
            settings["default_language"] = known_language(language)
    quote_policy = raw.get("quote_policy")
    if quote_policy is not None and quote_policy != "":
        if quote_policy in QUOTE_POLICIES:
            settings["default_quote_policy"] = quote_policy
        else:
            errors.add("source.quote_policy", "ERR_INCLUSION", f"must be one of {', '.join(QUOTE_POLICIES)}")
    return settings


def parse_profile_changes(params: Mapping[str, Any], errors: ValidationErrors) -> ProfileChanges:
    """Read an update_credentials request (form, multipart or JSON, already flattened)."""
    changes = ProfileChanges()
    display_name = _text(params.get("display_name"), "display_name", errors)
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > DISPLAY_NAME_MAX:
            errors.add(
                "display_name", "ERR_TOO_LONG", f"is too long (maximum is {DISPLAY_NAME_MAX} characters)"
            )
        changes.display_name = display_name
    note = _text(params.get("note"), "note", errors)
    if note is not None:
        note = note.strip().replace("\r\n", "\n").replace("\r", "\n")
        if len(note) > NOTE_MAX:
            errors.add("note", "ERR_TOO_LONG", f"is too long (maximum is {NOTE_MAX} characters)")
        changes.note = note
    for name in ("avatar_description", "header_description"):
        description = _text(params.get(name), name, errors)
        if description is not None:
            description = description.strip()
            if len(description) > IMAGE_DESCRIPTION_MAX:
                limit = IMAGE_DESCRIPTION_MAX
                errors.add(name, "ERR_TOO_LONG", f"is too long (maximum is {limit} characters)")
            setattr(changes, name, description)
    changes.fields = _parse_fields(params.get("fields_attributes"), errors)
    changes.locked = _bool(params.get("locked"))
    changes.bot = _bool(params.get("bot"))
    changes.discoverable = _bool(params.get("discoverable"))
    changes.indexable = _bool(params.get("indexable"))
    changes.hide_collections = _bool(params.get("hide_collections"))
    changes.settings = _parse_source(params.get("source"), errors)
    changes.attribution_domains = _parse_attribution_domains(params.get("attribution_domains"), errors)
    return changes
