"""Localised API error messages.

`negotiate` picks one of the locales we have a catalogue for from what a request asks
(`lang=pt-BR`, a user's `ja`, an Accept-Language header); `translate` renders an English error
message in that locale, leaving English whatever no catalogue knows.
"""

from __future__ import annotations

import importlib
from functools import cache

from kinfolk.i18n.catalogue import VALIDATION_FAILED, Catalogue

DEFAULT_LOCALE = "en"
# Each has a module kinfolk.i18n.locales.<code> with a CATALOGUE; English needs none.
LOCALES: tuple[str, ...] = ("en", "de", "es", "fr", "ja")

_PREFIX = VALIDATION_FAILED + ": "


def negotiate(value: str | None) -> str | None:
    """The locale we have for a tag such as `de`, `de-AT`, `de_DE` or `JA`; None if none fits."""
    if not value or not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag in LOCALES:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in LOCALES else None


def from_accept_language(header: str | None) -> str | None:
    """The first locale we have among an Accept-Language header's choices, by their weight."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            choices.append((-weight, index, tag))
    for _, _, tag in sorted(choices):
        found = negotiate(tag)
        if found is not None:
            return found
    return None


@cache
def catalogue(locale: str) -> Catalogue | None:
    if locale == DEFAULT_LOCALE or locale not in LOCALES:
        return None
    module = importlib.import_module(f"kinfolk.i18n.locales.{locale}")
    found: Catalogue = module.CATALOGUE
    return found


def translate(message: str, locale: str) -> str:
    """`message` in `locale`, as far as the catalogue goes."""
    found = catalogue(locale)
    if found is None:
        return message
    if message == VALIDATION_FAILED:
        return found.validation_failed
    if message.startswith(_PREFIX):
        return f"{found.validation_failed}: {found.validation_parts(message[len(_PREFIX) :])}"
    return found.sentence(message) or message


def translate_description(description: str, locale: str) -> str:
    """A `details` description (the part after an attribute's name) in `locale`."""
    found = catalogue(locale)
    if found is None:
        return description
    return found.description(description) or description
