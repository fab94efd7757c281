"""Error messages in the request's language: the `lang` parameter (query, form or JSON), else
the signed-in user's locale, else Accept-Language, else English, as Mastodon chooses."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update

from kinfolk.container import Container
from kinfolk.domain.accounts.models import User

TOO_LONG = "a" * 600


async def set_locale(container: Container, user_id: int, locale: str) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(update(User).where(User.id == user_id).values(locale=locale))


async def post_too_long(client: httpx.AsyncClient, user: Any, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/statuses", headers={**user.headers, **kwargs.pop("headers", {})}, **kwargs
    )
    assert response.status_code == 422
    body: dict[str, Any] = response.json()
    return body


async def test_english_stays_exactly_as_it_was(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    body = await post_too_long(client, alice, data={"status": TOO_LONG})
    assert body == {"error": "Validation failed: Text character limit of 500 exceeded"}
    assert (await client.get("/api/v1/nothing_here")).json() == {"error": "Record not found"}


async def test_lang_parameter_in_form_json_or_query(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    form = await post_too_long(client, alice, data={"status": TOO_LONG, "lang": "de"})
    assert form["error"] == "Validierung fehlgeschlagen: Text überschreitet die Grenze von 500 Zeichen"
    json = await post_too_long(client, alice, json={"status": TOO_LONG, "lang": "ja"})
    assert json["error"] == "検証に失敗しました: 本文が500文字の上限を超えています"
    query = await post_too_long(client, alice, data={"status": TOO_LONG}, params={"lang": "fr"})
    assert query["error"] == "La validation a échoué: Le texte dépasse la limite de 500 caractères"
    # A body's lang wins over the query's, as Rails merges parameters.
    both = await post_too_long(client, alice, data={"status": TOO_LONG, "lang": "es"}, params={"lang": "fr"})
    assert both["error"].startswith("La validación ha fallado: ")


async def test_the_users_locale_unless_lang_says_otherwise(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    """Mastodon.py's test_lang_for_errors: a `ja` user, then `set_language("de")`."""
    alice = await make_user("alice")
    await set_locale(container, alice.user_id, "ja")
    first = await post_too_long(client, alice, data={"status": TOO_LONG})
    second = await post_too_long(client, alice, data={"status": TOO_LONG, "lang": "de"})
    assert first["error"].startswith("検証に失敗しました: ")
    assert second["error"].startswith("Validierung fehlgeschlagen: ")
    # An unknown lang falls back to the user's locale.
    unknown = await post_too_long(client, alice, data={"status": TOO_LONG, "lang": "xx"})
    assert unknown == first


async def test_accept_language_for_anonymous_requests(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/statuses/123", headers={"Accept-Language": "es-ES, en;q=0.5"})
    assert response.status_code == 404
    assert response.json() == {"error": "Registro no encontrado"}
    unknown_route = await client.get("/api/v1/nope", params={"lang": "de"})
    assert unknown_route.json() == {"error": "Eintrag nicht gefunden"}


async def test_auth_errors_and_details(
    client: httpx.AsyncClient, make_user: Any, container: Container
) -> None:
    bad = await client.get(
        "/api/v1/accounts/verify_credentials", headers={"Authorization": "Bearer nope"}, params={"lang": "de"}
    )
    assert bad.status_code == 401
    assert bad.json() == {"error": "Das Zugriffstoken ist ungültig"}
    reader = await make_user("reader", scopes="read")
    await set_locale(container, reader.user_id, "fr")
    scoped = await client.post("/api/v1/statuses", data={"status": "hi"}, headers=reader.headers)
    assert scoped.status_code == 403
    assert scoped.json() == {"error": "Cette action dépasse les autorisations accordées"}

    alice = await make_user("alice")
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "x" * 31, "lang": "de"},
        headers=alice.headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "Validierung fehlgeschlagen: Anzeigename ist zu lang (höchstens 30 Zeichen)"
    # Codes stay machine-readable; descriptions follow the language.
    assert body["details"] == {
        "display_name": [{"error": "ERR_TOO_LONG", "description": "ist zu lang (höchstens 30 Zeichen)"}]
    }


async def test_poll_and_sign_up_messages(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    poll = await client.post(
        "/api/v1/statuses",
        data={"status": "vote", "poll[options][]": ["only one"], "poll[expires_in]": "3600", "lang": "es"},
        headers=alice.headers,
    )
    assert poll.status_code == 422
    assert poll.json()["error"] == "La validación ha fallado: La encuesta debe tener al menos 2 opciones"


async def test_hardening_messages_are_translated(client: httpx.AsyncClient, make_user: Any) -> None:
    """The refusals added for bounded work and bad input speak the request's language too."""
    alice = await make_user("alice")
    long_query = await client.get(
        "/api/v2/search", params={"q": "a" * 5000, "lang": "fr"}, headers=alice.headers
    )
    assert long_query.status_code == 422
    assert long_query.json() == {
        "error": "La validation a échoué: La recherche est trop longue (4096 caractères au maximum)"
    }
    nul = await client.post(
        "/api/v1/statuses", json={"status": "a\u0000b", "lang": "de"}, headers=alice.headers
    )
    assert nul.status_code == 422
    assert nul.json() == {"error": "Validierung fehlgeschlagen: Parameter dürfen kein Nullzeichen enthalten"}
