"""The fixed limits the instance API advertises, in one place so the enforcing areas can share them.

Values follow Mastodon 4.5, because clients size their composers and uploaders from them; limits
that an operator may change (post length, attachment count, upload sizes and dimensions, poll
options) live in the settings instead.
"""

from __future__ import annotations

MAX_FEATURED_TAGS = 10
MAX_PINNED_STATUSES = 5
MAX_NOTE_LENGTH = 500
MAX_PROFILE_FIELDS = 4
PROFILE_FIELD_NAME_LIMIT = 255
PROFILE_FIELD_VALUE_LIMIT = 255

CHARACTERS_RESERVED_PER_URL = 23

MEDIA_DESCRIPTION_LIMIT = 1500

POLL_MAX_CHARACTERS_PER_OPTION = 50
POLL_MIN_EXPIRATION = 5 * 60
POLL_MAX_EXPIRATION = 2629746  # one average Gregorian month, in seconds

IMAGE_MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/webp",
    "image/avif",
)
VIDEO_MIME_TYPES = ("video/webm", "video/mp4", "video/quicktime", "video/ogg")
AUDIO_MIME_TYPES = (
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wave",
    "audio/vnd.wave",
    "audio/ogg",
    "audio/vorbis",
    "audio/mpeg",
    "audio/mp3",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/m4a",
    "audio/x-m4a",
    "audio/mp4",
    "audio/3gpp",
    "video/x-ms-asf",
)
SUPPORTED_MIME_TYPES = (*IMAGE_MIME_TYPES, *VIDEO_MIME_TYPES, *AUDIO_MIME_TYPES)
