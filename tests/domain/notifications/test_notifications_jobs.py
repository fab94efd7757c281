"""The notification jobs: ended polls (exactly once), sign-ups and reports for staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.notifications.models import Notification
from kinfolk.domain.oauth.service import create_application, issue_token
from kinfolk.domain.polls.models import Poll, PollVote
from kinfolk.domain.statuses.models import Status
from kinfolk.jobs.queue import enqueue
from kinfolk.kernel.clock import utcnow


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


async def _rows(container, account_id: int) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    async with container.db.uow(write=False) as uow:
        rows = await uow.session.execute(
            select(Notification.type, Notification.from_account_id)
            .where(Notification.account_id == account_id)
            .order_by(Notification.id)
        )
        return [(t, int(f)) for t, f in rows.all()]


async def test_ended_polls_are_announced_once(client, container, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    voter = await make_user("voter")
    bystander = await make_user("bystander")
    response = await client.post(
        "/api/v1/statuses",
        data={"status": "Tea or coffee?", "poll[options][]": ["tea", "coffee"], "poll[expires_in]": "300"},
        headers=author.headers,
    )
    assert response.status_code == 200, response.text
    poll_id = int(response.json()["poll"]["id"])
    voted = await client.post(
        f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}, headers=voter.headers
    )
    assert voted.status_code == 200, voted.text
    await drain_jobs()

    async def run() -> None:
        async with container.db.uow() as uow:
            await enqueue(uow, "notifications.polls_expired", {})
        await drain_jobs()

    await run()  # not ended yet
    assert await _rows(container, author.account_id) == []
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Poll).where(Poll.id == poll_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await run()
    await run()
    assert await _rows(container, author.account_id) == [("poll", author.account_id)]
    assert await _rows(container, voter.account_id) == [("poll", author.account_id)]
    assert await _rows(container, bystander.account_id) == []
    notification = (await client.get("/api/v1/notifications", headers=voter.headers)).json()[0]
    assert notification["status"]["poll"]["id"] == str(poll_id)


async def test_polls_of_deleted_statuses_are_not_announced(container, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    author = await make_user("author")
    async with container.db.uow() as uow:
        status = Status(account_id=author.account_id, text="gone", content="<p>gone</p>", deleted_at=utcnow())
        uow.session.add(status)
        await uow.session.flush()
        poll = Poll(
            account_id=author.account_id,
            status_id=status.id,
            options=["a", "b"],
            cached_tallies=[0, 0],
            expires_at=utcnow() - timedelta(minutes=1),
        )
        uow.session.add(poll)
        await uow.session.flush()
        uow.session.add(PollVote(poll_id=poll.id, account_id=author.account_id, choice=0))
        await enqueue(uow, "notifications.polls_expired", {})
    await drain_jobs()
    assert await _rows(container, author.account_id) == []


async def test_sign_ups_notify_staff(client, container, make_user, drain_jobs) -> None:  # type: ignore[no-untyped-def]
    owner = await make_user("owner", role="owner")
    moderator = await make_user("moderator", role="moderator")
    user = await make_user("user")
    async with container.db.uow() as uow:
        app = await create_application(uow.session, name="Sign-up app", scopes="read write")
        issued = await issue_token(uow.session, application=app, user=None, scopes=["read", "write"])
    form = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "a fine long password",
        "agreement": "1",
    }
    second = form | {"username": "newbie2", "email": "newbie2@example.com"}
    for data in (form, second):
        response = await client.post(
            "/api/v1/accounts", data=data, headers={"Authorization": f"Bearer {issued.access_token}"}
        )
        assert response.status_code == 200, response.text
    await drain_jobs()
    for staff in (owner, moderator):
        body = (await client.get("/api/v1/notifications", headers=staff.headers)).json()
        assert [(n["type"], n["account"]["username"]) for n in body] == [
            ("admin.sign_up", "newbie2"),
            ("admin.sign_up", "newbie"),
        ]
        groups = (await client.get("/api/v2/notifications", headers=staff.headers)).json()[
            "notification_groups"
        ]
        assert len(groups) == 1 and groups[0]["notifications_count"] == 2
        assert groups[0]["group_key"].startswith("admin.sign_up-")
    assert await _rows(container, user.account_id) == []
