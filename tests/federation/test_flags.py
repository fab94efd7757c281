"""Reports from other servers: a `Flag` naming our accounts and posts files a report under the
actor that sent it; anything not ours is ignored; `reject_reports` refuses it."""

from __future__ import annotations

from kinfolk.domain.moderation import domain_blocks
from kinfolk.domain.moderation.models import Report
from tests.federation.inbox_support import Remote, activity, remote, settings
from tests.federation.test_activities_follow import account_id, alice_uri, deliver, rows

__all__ = ["remote", "settings"]  # fixtures


async def test_flag_files_a_report_about_local_accounts(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    response = await client.post("/api/v1/statuses", headers=alice.headers, json={"status": "reported"})
    assert response.status_code == 200, response.text
    status_id, status_uri = int(response.json()["id"]), response.json()["uri"]
    bob_post = await client.post("/api/v1/statuses", headers=bob.headers, json={"status": "not alice's"})
    instance = remote.actor("remote.test")
    flag = activity(
        instance,
        "Flag",
        [alice_uri(), status_uri, bob_post.json()["uri"], "http://remote.test/users/nobody"],
        content="Please take a look",
    )
    await deliver(client, container, flag, instance)
    reporter = await account_id(container, instance.uri)
    reports = await rows(container, Report, target_account_id=alice.account_id)
    assert len(reports) == 1
    assert reports[0].account_id == reporter and reports[0].comment == "Please take a look"
    assert reports[0].status_ids == [status_id] and reports[0].uri == flag["id"]
    # The same Flag again files nothing more.
    await deliver(client, container, flag, instance)
    assert len(await rows(container, Report)) == 1


async def test_flag_refused_when_reports_are_rejected(client, container, make_user, remote: Remote) -> None:
    alice = await make_user("alice")
    other = remote.actor("other.test", host="other.test")
    async with container.db.uow() as uow:
        request = domain_blocks.BlockRequest("other.test", severity="noop", reject_reports=True)
        await domain_blocks.block_domain(uow.session, request)
    await deliver(client, container, activity(other, "Flag", [alice_uri()], content="spam"), other)
    assert await rows(container, Report, target_account_id=alice.account_id) == []
