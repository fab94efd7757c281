"""The instance API against Mastodon's published schemas, with figures from the real database."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from tests.remote import make_remote_account

from kinfolk import MASTODON_API_VERSION, __version__
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account, AccountStats, User
from kinfolk.domain.instance import service
from kinfolk.infra.vapid import vapid_public_key
from kinfolk.kernel.clock import utcnow

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "mastodon_instance_schemas.json").read_text()
)["schemas"]

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}

_FORMATS = {
    "date-time": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"),
    "uri": re.compile(r"^[a-z][a-z0-9+.-]*://"),
}


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The ways `value` breaks an OpenAPI 3.1 schema (the subset Mastodon's description uses)."""
    if "$ref" in schema:
        return schema_errors(value, SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]], path)
    if "oneOf" in schema:
        options = [schema_errors(value, option, path) for option in schema["oneOf"]]
        if sum(1 for problems in options if not problems) != 1:
            return [f"{path}: matches none (or several) of oneOf: {options}"]
        return []
    errors: list[str] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(
            isinstance(value, _JSON_TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
            for t in types
        )
        if not ok:
            return [f"{path}: {value!r} is not {types}"]
    if "enum" in schema and value is not None and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    pattern = _FORMATS.get(schema.get("format", ""))
    if isinstance(value, str) and pattern is not None and not pattern.match(value):
        errors.append(f"{path}: {value!r} is not a {schema['format']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors.extend(schema_errors(value[key], sub, f"{path}.{key}"))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors.extend(schema_errors(item, schema["items"], f"{path}[{i}]"))
    return errors


def assert_schema(value: Any, name: str) -> None:
    problems = schema_errors(value, SCHEMAS[name])
    assert not problems, "\n".join(problems)


async def _set_user(container: Container, user_id: int, **values: Any) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(update(User).where(User.id == user_id).values(**values))


async def _add_remote_account(container: Container, username: str, domain: str) -> None:
    await make_remote_account(container, username, domain)


# --- v2 ----------------------------------------------------------------------------------------


async def test_v2_instance_has_mastodon_shape_and_our_configuration(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    owner = await make_user("boss", role="owner")
    response = await client.get("/api/v2/instance")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert_schema(body, "Instance")

    assert body["domain"] == "kinfolk.test"
    assert body["version"] == f"4.5.0 (compatible; Kinfolk {__version__})"
    assert body["api_versions"] == {"mastodon": MASTODON_API_VERSION}
    assert body["source_url"].startswith("https://")
    config = body["configuration"]
    assert config["urls"]["streaming"] == "wss://kinfolk.test"
    assert config["vapid"]["public_key"] == vapid_public_key(container.settings)
    assert config["statuses"] == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    media = config["media_attachments"]
    assert media["image_size_limit"] == container.settings.image_size_limit
    assert media["video_matrix_limit"] == 8294400
    assert {"image/jpeg", "image/avif", "video/mp4", "audio/mpeg", "video/x-ms-asf"} <= set(
        media["supported_mime_types"]
    )
    assert len(media["supported_mime_types"]) == 28
    assert config["polls"]["max_options"] == 4
    assert config["translation"] == {"enabled": False}
    assert config["timelines_access"]["live_feeds"] == {"local": "public", "remote": "public"}
    assert body["registrations"]["enabled"] is True
    assert body["registrations"]["approval_required"] is False
    assert body["contact"]["account"]["id"] == str(owner.account_id)
    assert body["contact"]["account"]["username"] == "boss"
    assert body["usage"]["users"]["active_month"] == 1

    # Mastodon.py asks with a trailing slash.
    slash = await client.get("/api/v2/instance/")
    assert slash.status_code == 200 and slash.json()["domain"] == "kinfolk.test"


async def test_instance_is_public_and_ignores_a_bad_token(client: httpx.AsyncClient) -> None:
    for path in ("/api/v2/instance", "/api/v1/instance", "/api/v1/instance/rules"):
        response = await client.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 200, path


async def test_preflight_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/v2/instance",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_registration_modes_and_contact(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("boss", role="owner")
    await make_user("helpdesk")
    container.settings.registrations = "approval"
    container.settings.contact_username = "HelpDesk"
    container.settings.contact_email = "staff@kinfolk.test"
    body = (await client.get("/api/v2/instance")).json()
    assert body["registrations"]["enabled"] is True
    assert body["registrations"]["approval_required"] is True
    assert body["contact"]["email"] == "staff@kinfolk.test"
    assert body["contact"]["account"]["username"] == "helpdesk"

    container.settings.registrations = "closed"
    v2 = (await client.get("/api/v2/instance")).json()
    v1 = (await client.get("/api/v1/instance")).json()
    assert v2["registrations"]["enabled"] is False
    assert v1["registrations"] is False
    assert v1["contact_account"]["username"] == "helpdesk"


async def test_no_contact_account_without_owner(client: httpx.AsyncClient, make_user: Any) -> None:
    await make_user("alice")
    body = (await client.get("/api/v2/instance")).json()
    assert body["contact"] == {"email": "", "account": None}
    assert (await client.get("/api/v1/instance")).json()["contact_account"] is None


async def test_active_month_counts_recent_sign_ins_and_sign_ups(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    old = utcnow() - timedelta(days=90)
    fresh = await make_user("fresh")
    returning = await make_user("returning")
    dormant = await make_user("dormant")
    await _set_user(
        container, returning.user_id, created_at=old, last_sign_in_at=utcnow() - timedelta(days=2)
    )
    await _set_user(container, dormant.user_id, created_at=old, last_sign_in_at=old)
    body = (await client.get("/api/v2/instance")).json()
    assert body["usage"]["users"]["active_month"] == 2
    assert fresh.username == "fresh"


# --- v1 ----------------------------------------------------------------------------------------


async def test_v1_instance_shape_and_real_stats(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await make_user("pending", approved=False)
    disabled = await make_user("gone")
    await _set_user(container, disabled.user_id, disabled=True)
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(AccountStats).where(AccountStats.account_id == alice.account_id).values(statuses_count=7)
        )
        await uow.session.execute(
            update(AccountStats).where(AccountStats.account_id == bob.account_id).values(statuses_count=3)
        )
    await _add_remote_account(container, "carol", "remote.example")
    await _add_remote_account(container, "dave", "remote.example")
    await _add_remote_account(container, "erin", "other.example")

    response = await client.get("/api/v1/instance")
    assert response.status_code == 200
    body = response.json()
    assert_schema(body, "V1Instance")
    assert body["uri"] == "kinfolk.test"
    assert body["version"].startswith("4.5.0 ")
    assert body["urls"] == {"streaming_api": "wss://kinfolk.test"}
    assert body["stats"] == {"user_count": 2, "status_count": 10, "domain_count": 2}
    assert body["invites_enabled"] is False
    assert body["thumbnail"] == "https://kinfolk.test/instance/thumbnail.png"

    peers = await client.get("/api/v1/instance/peers")
    assert peers.json() == ["other.example", "remote.example"]


# --- rules -------------------------------------------------------------------------------------


async def test_rules_in_order_without_removed_ones(client: httpx.AsyncClient, container: Container) -> None:
    assert (await client.get("/api/v1/instance/rules")).json() == []
    async with container.db.uow() as uow:
        first = await service.add_rule(uow.session, "Be kind", hint="Really.")
        second = await service.add_rule(uow.session, "No spam")
        third = await service.add_rule(uow.session, "Mark sensitive media")
    async with container.db.uow() as uow:
        await service.remove_rule(uow.session, second.id)

    expected = [
        {"id": str(first.id), "text": "Be kind", "hint": "Really.", "translations": {}},
        {"id": str(third.id), "text": "Mark sensitive media", "hint": "", "translations": {}},
    ]
    response = await client.get("/api/v1/instance/rules")
    assert response.status_code == 200
    assert response.json() == expected
    for rule in response.json():
        assert_schema(rule, "Rule")
    assert (await client.get("/api/v2/instance")).json()["rules"] == expected
    assert (await client.get("/api/v1/instance")).json()["rules"] == expected


# --- activity ----------------------------------------------------------------------------------


async def test_weekly_activity_from_sign_ups_and_sign_ins(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("newcomer")
    veteran = await make_user("veteran")
    three_weeks_ago = utcnow() - timedelta(weeks=3)
    await _set_user(container, veteran.user_id, created_at=three_weeks_ago, last_sign_in_at=utcnow())

    response = await client.get("/api/v1/instance/activity")
    assert response.status_code == 200
    weeks = response.json()
    assert len(weeks) == 12
    starts = [int(w["week"]) for w in weeks]
    assert starts == sorted(starts, reverse=True)
    for start in starts:
        moment = datetime.fromtimestamp(start, UTC)
        assert (moment.weekday(), moment.hour, moment.minute) == (0, 0, 0)
    assert all(set(w) == {"week", "statuses", "logins", "registrations"} for w in weeks)
    assert all(isinstance(v, str) for w in weeks for v in w.values())
    assert weeks[0]["registrations"] == "1"
    assert weeks[0]["logins"] == "1"
    assert weeks[0]["statuses"] == "0"
    assert sum(int(w["registrations"]) for w in weeks) == 2
    week_of_veteran = next(
        i for i, start in enumerate(starts) if start <= three_weeks_ago.timestamp() < start + 7 * 86400
    )
    assert weeks[week_of_veteran]["registrations"] == "1"


# --- documents and empty lists -----------------------------------------------------------------


async def test_texts_languages_and_empty_lists(client: httpx.AsyncClient, container: Container) -> None:
    container.settings.instance_description = "Hello <friends>.\n\nSecond paragraph."
    extended = (await client.get("/api/v1/instance/extended_description")).json()
    assert_schema(extended, "ExtendedDescription")
    assert extended["content"] == "<p>Hello &lt;friends&gt;.</p><p>Second paragraph.</p>"

    policy = (await client.get("/api/v1/instance/privacy_policy")).json()
    assert_schema(policy, "PrivacyPolicy")
    assert "kinfolk.test" in policy["content"]

    terms = await client.get("/api/v1/instance/terms_of_service")
    assert terms.status_code == 404
    assert terms.json() == {"error": "Record not found"}
    assert terms.headers["access-control-allow-origin"] == "*"

    languages = (await client.get("/api/v1/instance/languages")).json()
    assert {"code": "en", "name": "English"} in languages
    assert {"code": "tok", "name": "Toki Pona"} in languages
    assert len(languages) > 180
    assert len({lang["code"] for lang in languages}) == len(languages)

    assert (await client.get("/api/v1/instance/translation_languages")).json() == {}
    assert (await client.get("/api/v1/instance/domain_blocks")).status_code == 404  # not shown by default
    assert (await client.get("/api/v1/instance/peers")).json() == []
    assert (await client.get("/api/v1/custom_emojis")).json() == []


async def test_announcements_need_a_signed_in_user(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user("alice")
    anonymous = await client.get("/api/v1/announcements")
    assert anonymous.status_code == 422
    assert anonymous.json() == {"error": "This method requires an authenticated user"}
    response = await client.get("/api/v1/announcements", headers=alice.headers)
    assert response.status_code == 200 and response.json() == []
    assert (await client.post("/api/v1/announcements/1/dismiss")).status_code == 401
    assert (await client.post("/api/v1/announcements/1/dismiss", headers=alice.headers)).status_code == 404


async def test_thumbnail_is_served(client: httpx.AsyncClient) -> None:
    url = (await client.get("/api/v2/instance")).json()["thumbnail"]["url"]
    response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


# --- health ------------------------------------------------------------------------------------


async def test_health_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.text == "OK"
    assert response.headers["content-type"].startswith("text/plain")


async def test_health_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    from kinfolk.api.app import create_app

    settings = Settings(
        domain="kinfolk.test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'missing' / 'dir' / 'db.sqlite3'}",
        secret_key="x",
    )
    container = Container.build(settings, pool_size=1)
    try:
        transport = httpx.ASGITransport(app=create_app(container), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="https://kinfolk.test") as c:
            response = await c.get("/health")
    finally:
        await container.close()
    assert response.status_code == 503
    assert response.text != "OK"


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v1/instance"])
async def test_instance_counts_exclude_suspended_accounts(
    path: str, client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    await make_user("alice")
    bob = await make_user("bob")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == bob.account_id).values(suspended_at=utcnow())
        )
    body = (await client.get(path)).json()
    if path.startswith("/api/v2"):
        assert body["usage"]["users"]["active_month"] == 1
    else:
        assert body["stats"]["user_count"] == 1


def test_the_schema_checker_itself_catches_mistakes() -> None:
    assert schema_errors({"id": "1", "text": "t", "hint": ""}, SCHEMAS["Rule"]) == []
    assert schema_errors({"id": 1, "text": "t"}, SCHEMAS["Rule"]) == [
        "$: missing 'hint'",
        "$.id: 1 is not ['string']",
    ]
    assert schema_errors({"content": "", "updated_at": "yesterday"}, SCHEMAS["ExtendedDescription"])
