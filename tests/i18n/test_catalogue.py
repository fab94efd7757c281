"""Message catalogues: complete for every locale, placeholders kept, and English texts taken
apart and put back together as Rails builds them."""

from __future__ import annotations

import pytest

from kinfolk.i18n import LOCALES, catalogue, from_accept_language, negotiate, translate, translate_description
from kinfolk.i18n.catalogue import ATTRIBUTE_MESSAGES, ATTRIBUTES, MESSAGES, placeholders

TRANSLATED = [locale for locale in LOCALES if locale != "en"]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_locale_translates_every_template_and_keeps_its_placeholders(locale: str) -> None:
    found = catalogue(locale)
    assert found is not None
    assert set(found.messages) == set(MESSAGES)
    assert set(found.attribute_messages) == set(ATTRIBUTE_MESSAGES)
    assert set(found.attributes) == set(ATTRIBUTES)
    for source, table in ((MESSAGES, found.messages), (ATTRIBUTE_MESSAGES, found.attribute_messages)):
        for english in source:
            assert placeholders(table[english]) == placeholders(english), (locale, english)
            assert table[english].strip() and table[english] != english, (locale, english)


def test_english_needs_no_catalogue_and_changes_nothing() -> None:
    assert catalogue("en") is None
    message = "Validation failed: Text character limit of 500 exceeded"
    assert translate(message, "en") is message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("de", "de"),
        ("DE", "de"),
        ("de-AT", "de"),
        ("de_DE", "de"),
        ("ja", "ja"),
        ("pt-BR", None),
        ("", None),
        (None, None),
    ],
)
def test_negotiate(value: str | None, expected: str | None) -> None:
    assert negotiate(value) == expected


def test_accept_language_by_weight() -> None:
    assert from_accept_language("pt-BR, fr;q=0.4, ja;q=0.9") == "ja"
    assert from_accept_language("nl, it;q=0.5") is None
    assert from_accept_language("de;q=0, es;q=0.1") == "es"
    assert from_accept_language("fr;q=bogus, es") == "es"
    assert from_accept_language(None) is None


def test_whole_messages_and_values() -> None:
    assert translate("Record not found", "de") == "Eintrag nicht gefunden"
    assert (
        translate("param is missing or the value is empty: acct", "fr") == "paramètre manquant ou vide : acct"
    )
    assert translate("Something nobody translated", "ja") == "Something nobody translated"


def test_validation_messages_part_by_part() -> None:
    assert (
        translate("Validation failed: Text character limit of 500 exceeded", "ja")
        == "検証に失敗しました: 本文が500文字の上限を超えています"
    )
    assert (
        translate("Validation failed: Username can't be blank, Email is invalid", "de")
        == "Validierung fehlgeschlagen: Benutzername darf nicht leer sein, E-Mail-Adresse ist ungültig"
    )
    # Japanese joins an attribute and its message without a space, and problems with 、.
    assert (
        translate(
            "Validation failed: Username can't be blank, Password is too short (minimum is 8 characters)",
            "ja",
        )
        == "検証に失敗しました: ユーザー名を入力してください、パスワードは8文字以上で入力してください"
    )
    # A value holding ", " (a list of choices) stays one part.
    assert (
        translate("Validation failed: Source privacy must be one of public, unlisted, private", "es")
        == "La validación ha fallado: Visibilidad predeterminada debe ser uno de estos valores: public, unlisted, private"
    )
    # An attribute nobody translated keeps its English name; an unknown part stays English.
    assert translate("Validation failed: Wibble can't be blank, the moon is cheese", "fr") == (
        "La validation a échoué: Wibble doit être rempli(e), the moon is cheese"
    )
    assert translate("Validation failed", "de") == "Validierung fehlgeschlagen"


def test_details_descriptions() -> None:
    assert (
        translate_description("is too long (maximum is 30 characters)", "de")
        == "ist zu lang (höchstens 30 Zeichen)"
    )
    assert translate_description("some other words", "de") == "some other words"
    assert translate_description("can't be blank", "en") == "can't be blank"
