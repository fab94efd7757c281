"""Filing reports: the Report entity, what may be attached, validation, and the admin.report
notifications staff receive."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kinfolk.container import Container
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.instance.service import add_rule
from kinfolk.domain.moderation.models import Report


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _post(client: httpx.AsyncClient, user: Any, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data=data, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _reports(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(Report))).scalar_one())


async def test_file_a_report_and_staff_hear_of_it(client, make_user, drain_jobs, container) -> None:  # type: ignore[no-untyped-def]
    admin = await make_user("admin", role="admin")
    moderator = await make_user("mod", role="moderator")
    alice = await make_user("alice")
    spammer = await make_user("spammer")
    status = await _post(client, spammer, status="buy now")
    response = await client.post(
        "/api/v1/reports/",
        data={
            "account_id": str(spammer.account_id),
            "status_ids[]": [status["id"]],
            "comment": "makes the bad post",
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report == {
        "id": report["id"],
        "action_taken": False,
        "action_taken_at": None,
        "category": "other",
        "comment": "makes the bad post",
        "forwarded": False,
        "created_at": report["created_at"],
        "status_ids": [status["id"]],
        "rule_ids": None,
        "target_account": report["target_account"],
    }
    assert report["target_account"]["id"] == str(spammer.account_id)
    await drain_jobs()

    for staff in (admin, moderator):
        (notification,) = (await client.get("/api/v1/notifications", headers=staff.headers)).json()
        assert notification["type"] == "admin.report"
        assert notification["account"]["id"] == str(alice.account_id)
        assert notification["report"] == report
        grouped = (await client.get("/api/v2/notifications", headers=staff.headers)).json()
        assert grouped["notification_groups"][0]["report"] == report
        assert grouped["notification_groups"][0]["type"] == "admin.report"
    assert (await client.get("/api/v1/notifications", headers=alice.headers)).json() == []

    # While that report is open, another one about the same account tells no one again.
    second = await client.post(
        "/api/v1/reports", data={"account_id": str(spammer.account_id)}, headers=admin.headers
    )
    assert second.status_code == 200
    await drain_jobs()
    assert len((await client.get("/api/v1/notifications", headers=moderator.headers)).json()) == 1


async def test_rules_make_a_violation(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    target = await make_user("target")
    async with container.db.uow() as uow:
        rule = await add_rule(uow.session, "Be nice")
    response = await client.post(
        "/api/v1/reports",
        json={
            "account_id": str(target.account_id),
            "category": "spam",
            "rule_ids": [str(rule.id)],
            "forward": True,
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["category"] == "violation"
    assert response.json()["rule_ids"] == [str(rule.id)]
    assert response.json()["forwarded"] is False  # a local account: there is nowhere to forward to
    spam = await client.post(
        "/api/v1/reports",
        data={"account_id": str(target.account_id), "category": "legal"},
        headers=alice.headers,
    )
    assert spam.json()["category"] == "legal" and spam.json()["rule_ids"] is None


async def test_bad_reports_store_nothing(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    target = await make_user("target")
    other = await make_user("other")
    others_status = await _post(client, other, status="not the target's")
    secret = await _post(client, target, status="@other only for other", visibility="direct")
    cases = [
        ({}, 404),
        ({"account_id": "999"}, 404),
        ({"account_id": "abc"}, 404),
        ({"account_id": str(target.account_id), "status_ids[]": [others_status["id"]]}, 404),
        ({"account_id": str(target.account_id), "status_ids[]": [secret["id"]]}, 404),
        ({"account_id": str(target.account_id), "status_ids[]": ["x"]}, 404),
        ({"account_id": str(target.account_id), "comment": "x" * 1001}, 422),
        ({"account_id": str(target.account_id), "category": "rude"}, 422),
        ({"account_id": str(target.account_id), "rule_ids[]": ["12345"]}, 422),
    ]
    for data, code in cases:
        response = await client.post("/api/v1/reports", data=data, headers=alice.headers)
        assert response.status_code == code, (data, response.text)
        assert "error" in response.json()
    reader = await make_user("reader", scopes="read")
    denied = await client.post(
        "/api/v1/reports", data={"account_id": str(target.account_id)}, headers=reader.headers
    )
    assert denied.status_code == 403
    assert await _reports(container) == 0
