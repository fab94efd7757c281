"""Follow suggestions: most followed discoverable local accounts, minus follows and dismissals."""

from __future__ import annotations

from sqlalchemy import update

from kinfolk.domain.accounts.models import Account


async def test_suggestions_rank_exclude_and_dismiss(client, make_user, container) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    popular = await make_user("popular")
    middling = await make_user("middling")
    quiet = await make_user("quiet")
    hidden = await make_user("hidden")
    blocked = await make_user("blocked")
    followed = await make_user("followed")
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == hidden.account_id).values(discoverable=False)
        )
    for fan in (quiet, blocked):
        await client.post(f"/api/v1/accounts/{popular.account_id}/follow", headers=fan.headers)
    await client.post(f"/api/v1/accounts/{middling.account_id}/follow", headers=quiet.headers)
    await client.post(f"/api/v1/accounts/{followed.account_id}/follow", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{blocked.account_id}/block", headers=alice.headers)

    v2 = await client.get("/api/v2/suggestions", headers=alice.headers)
    assert v2.status_code == 200, v2.text
    names = [s["account"]["username"] for s in v2.json()]
    assert names[:2] == ["popular", "middling"]
    assert names == ["popular", "middling", "quiet"]
    assert v2.json()[0]["sources"] == ["most_followed"] and v2.json()[0]["source"] == "global"
    v1 = await client.get("/api/v1/suggestions?limit=2", headers=alice.headers)
    assert [a["username"] for a in v1.json()] == ["popular", "middling"]

    dismissed = await client.delete(f"/api/v1/suggestions/{popular.account_id}", headers=alice.headers)
    assert dismissed.status_code == 200 and dismissed.json() == {}
    again = await client.delete(f"/api/v1/suggestions/{popular.account_id}", headers=alice.headers)
    assert again.status_code == 200
    assert (await client.delete("/api/v1/suggestions/424242", headers=alice.headers)).status_code == 200
    names = [a["username"] for a in (await client.get("/api/v1/suggestions", headers=alice.headers)).json()]
    assert "popular" not in names and names[0] == "middling" and "quiet" in names
    # Dismissals are per viewer.
    other = [a["username"] for a in (await client.get("/api/v1/suggestions", headers=hidden.headers)).json()]
    assert other[0] == "popular"

    assert (await client.get("/api/v2/suggestions")).status_code == 401
