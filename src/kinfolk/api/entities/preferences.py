"""Mastodon's Preferences entity: a flat map with namespaced keys."""

from __future__ import annotations

from typing import Any

from kinfolk.domain.accounts.models import User
from kinfolk.domain.accounts.profile import posting_defaults, reading_preferences


def preferences_json(user: User) -> dict[str, Any]:
    posting = posting_defaults(user)
    reading = reading_preferences(user)
    return {
        "posting:default:visibility": posting.privacy,
        "posting:default:sensitive": posting.sensitive,
        "posting:default:language": posting.language,
        "posting:default:quote_policy": posting.quote_policy,
        "reading:expand:media": reading.expand_media,
        "reading:expand:spoilers": reading.expand_spoilers,
        "reading:autoplay:gifs": reading.autoplay_gifs,
    }
