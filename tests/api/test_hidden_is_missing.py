"""Invisible and nonexistent look the same: for every endpoint taking the id of a status, poll,
list, filter, media attachment, scheduled status, featured tag, conversation, notification or
account, user B gets exactly the same status code and body for user A's object that B may not
see (A's private and direct statuses, everything A owns, an account awaiting approval) as for an
id that names nothing. Anything else would tell an attacker that a hidden object exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.domain.media import samples

from kinfolk.kernel.ids import new_id


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: dict[str, Any] | None = None
    # What both answers must be; None when only their sameness matters.
    status: int | None = 404


def _cases() -> list[Case]:
    statuses = [
        Case("GET", "/api/v1/statuses/{status}"),
        Case("DELETE", "/api/v1/statuses/{status}"),
        Case("PUT", "/api/v1/statuses/{status}", {"status": "edited"}),
        Case("GET", "/api/v1/statuses/{status}/source"),
        Case("GET", "/api/v1/statuses/{status}/history"),
        Case("GET", "/api/v1/statuses/{status}/context"),
        Case("POST", "/api/v1/statuses/{status}/translate"),
        Case("GET", "/api/v1/statuses/{status}/favourited_by"),
        Case("GET", "/api/v1/statuses/{status}/reblogged_by"),
        *(
            Case("POST", f"/api/v1/statuses/{{status}}/{action}")
            for action in (
                "reblog",
                "unreblog",
                "favourite",
                "unfavourite",
                "bookmark",
                "unbookmark",
                "pin",
                "unpin",
                "mute",
                "unmute",
            )
        ),
        Case("GET", "/api/v1/statuses?id[]={status}", status=200),
        Case("POST", "/api/v1/statuses", {"status": "a reply", "in_reply_to_id": "{status}"}),
        Case("POST", "/api/v1/statuses", {"status": "a quote", "quoted_status_id": "{status}"}),
        Case(
            "POST",
            "/api/v1/statuses",
            {"status": "later", "in_reply_to_id": "{status}", "scheduled_at": "{later}"},
        ),
        Case("POST", "/api/v2/filters/{own_filter}/statuses", {"status_id": "{status}"}, status=None),
        Case("POST", "/api/v1/reports", {"account_id": "{alice}", "status_ids": ["{status}"]}, status=None),
    ]
    expanded = [
        Case(
            c.method,
            c.path.replace("{status}", f"{{{kind}}}"),
            _swap(c.body, "{status}", f"{{{kind}}}"),
            c.status,
        )
        for c in statuses
        for kind in ("private", "direct")
    ]
    owned = [
        Case("GET", "/api/v1/polls/{poll}"),
        Case("POST", "/api/v1/polls/{poll}/votes", {"choices": ["0"]}),
        Case("GET", "/api/v1/lists/{list}"),
        Case("PUT", "/api/v1/lists/{list}", {"title": "mine now"}),
        Case("DELETE", "/api/v1/lists/{list}"),
        Case("GET", "/api/v1/lists/{list}/accounts"),
        Case("POST", "/api/v1/lists/{list}/accounts", {"account_ids": ["{carol}"]}),
        Case("DELETE", "/api/v1/lists/{list}/accounts", {"account_ids": ["{carol}"]}),
        Case("GET", "/api/v1/timelines/list/{list}"),
        Case("GET", "/api/v2/filters/{filter}"),
        Case("PUT", "/api/v2/filters/{filter}", {"title": "mine now"}),
        Case("DELETE", "/api/v2/filters/{filter}"),
        Case("GET", "/api/v2/filters/{filter}/keywords"),
        Case("POST", "/api/v2/filters/{filter}/keywords", {"keyword": "mine"}),
        Case("GET", "/api/v2/filters/{filter}/statuses"),
        Case("POST", "/api/v2/filters/{filter}/statuses", {"status_id": "{public}"}),
        Case("GET", "/api/v2/filters/keywords/{keyword}"),
        Case("PUT", "/api/v2/filters/keywords/{keyword}", {"keyword": "mine"}),
        Case("DELETE", "/api/v2/filters/keywords/{keyword}"),
        Case("GET", "/api/v2/filter_keywords/{keyword}"),
        Case("GET", "/api/v2/filters/statuses/{filter_status}"),
        Case("DELETE", "/api/v2/filters/statuses/{filter_status}"),
        Case("GET", "/api/v2/filter_statuses/{filter_status}"),
        Case("GET", "/api/v1/filters/{v1_filter}"),
        Case("PUT", "/api/v1/filters/{v1_filter}", {"phrase": "mine", "context": ["home"]}),
        Case("DELETE", "/api/v1/filters/{v1_filter}"),
        Case("GET", "/api/v1/media/{media}"),
        Case("PUT", "/api/v1/media/{media}", {"description": "mine now"}),
        Case("DELETE", "/api/v1/media/{media}"),
        Case("POST", "/api/v1/statuses", {"status": "with media", "media_ids": ["{media}"]}, status=None),
        Case("GET", "/api/v1/scheduled_statuses/{scheduled}"),
        Case("PUT", "/api/v1/scheduled_statuses/{scheduled}", {"scheduled_at": "{later}"}),
        Case("DELETE", "/api/v1/scheduled_statuses/{scheduled}"),
        Case("DELETE", "/api/v1/featured_tags/{featured_tag}"),
        # Erin's collection, Erin blocking Bob: hidden from him.
        Case("GET", "/api/v1/collections/{collection}"),
        Case("PATCH", "/api/v1/collections/{collection}", {"name": "mine now"}),
        Case("DELETE", "/api/v1/collections/{collection}"),
        Case("POST", "/api/v1/collections/{collection}/items", {"account_id": "{carol}"}),
        Case("DELETE", "/api/v1/collections/{collection}/items/{item}"),
        Case("POST", "/api/v1/collections/{collection}/items/{item}/revoke"),
        Case("DELETE", "/api/v1/conversations/{conversation}"),
        Case("POST", "/api/v1/conversations/{conversation}/read"),
        Case("GET", "/api/v1/notifications/{notification}"),
        Case("POST", "/api/v1/notifications/{notification}/dismiss"),
        Case("GET", "/api/v2/notifications/{group}"),
        # Mastodon dismisses by group key whatever it names, and lists its accounts the same way.
        Case("POST", "/api/v2/notifications/{group}/dismiss", status=200),
        Case("GET", "/api/v2/notifications/{group}/accounts", status=200),
        Case("GET", "/api/v1/notifications/requests/{request}"),
        Case("POST", "/api/v1/notifications/requests/{request}/accept"),
        Case("POST", "/api/v1/notifications/requests/{request}/dismiss"),
        Case("POST", "/api/v1/notifications/requests/accept", {"id": ["{request}"]}, status=200),
        Case("POST", "/api/v1/notifications/requests/dismiss", {"id": ["{request}"]}, status=200),
    ]
    accounts = [
        Case("GET", "/api/v1/accounts/{pending}"),
        Case("GET", "/api/v1/accounts?id[]={pending}", status=200),
        Case("GET", "/api/v1/accounts/{pending}/statuses"),
        Case("GET", "/api/v1/accounts/{pending}/followers"),
        Case("GET", "/api/v1/accounts/{pending}/following"),
        Case("GET", "/api/v1/accounts/{pending}/endorsements"),
        Case("GET", "/api/v1/accounts/{pending}/featured_tags"),
        Case("GET", "/api/v1/accounts/{pending}/lists"),
        Case("GET", "/api/v1/accounts/{pending}/collections"),
        Case("GET", "/api/v1/accounts/relationships?id[]={pending}", status=200),
        Case("GET", "/api/v1/accounts/familiar_followers?id[]={pending}", status=200),
        *(
            Case("POST", f"/api/v1/accounts/{{pending}}/{action}")
            for action in (
                "follow",
                "unfollow",
                "remove_from_followers",
                "block",
                "unblock",
                "mute",
                "unmute",
                "note",
                "endorse",
                "unendorse",
                "pin",
                "unpin",
            )
        ),
        Case("POST", "/api/v1/follow_requests/{pending}/authorize"),
        Case("POST", "/api/v1/follow_requests/{pending}/reject"),
        Case("POST", "/api/v1/lists/{own_list}/accounts", {"account_ids": ["{pending}"]}),
        Case("POST", "/api/v1/reports", {"account_id": "{pending}"}),
        Case("POST", "/api/v1/collections", {"name": "mine", "account_ids": ["{pending}"]}),
    ]
    return expanded + owned + accounts


def _swap(body: dict[str, Any] | None, old: str, new: str) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: _swap_value(v, old, new) for k, v in body.items()}


def _swap_value(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_swap_value(v, old, new) for v in value]
    return value


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in ids.items():
            value = value.replace(f"{{{name}}}", replacement)
        return value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


CASES = _cases()


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 202), response.text
    return response.json()


async def _hidden_objects(client: httpx.AsyncClient, make_user: Any, drain_jobs: Any) -> dict[str, Any]:
    """Alice's objects that Bob may not see, and Bob himself. Carol follows nobody; Dave
    mentions Alice after she filters strangers, which opens a notification request."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    dave = await make_user("dave")
    pending = await make_user("pending", approved=False)
    a = alice.headers

    async def post(headers: dict[str, str], **data: Any) -> dict[str, Any]:
        return await _ok(await client.post("/api/v1/statuses", json=data, headers=headers))

    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    ids: dict[str, str] = {
        "alice": str(alice.account_id),
        "carol": str(carol.account_id),
        "pending": str(pending.account_id),
        "later": later,
    }
    ids["private"] = (await post(a, status="followers only", visibility="private"))["id"]
    ids["direct"] = (await post(a, status="@carol psst", visibility="direct"))["id"]
    ids["public"] = (await post(a, status="for everyone"))["id"]
    polled = await post(
        a, status="vote", visibility="private", poll={"options": ["x", "y"], "expires_in": 3600}
    )
    ids["poll"] = polled["poll"]["id"]
    ids["list"] = (await _ok(await client.post("/api/v1/lists", json={"title": "close"}, headers=a)))["id"]
    made = await _ok(
        await client.post(
            "/api/v2/filters",
            json={"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "kw"}]},
            headers=a,
        )
    )
    ids["filter"], ids["keyword"] = made["id"], made["keywords"][0]["id"]
    pinned = await client.post(
        f"/api/v2/filters/{made['id']}/statuses", json={"status_id": ids["public"]}, headers=a
    )
    ids["filter_status"] = (await _ok(pinned))["id"]
    v1 = await client.post("/api/v1/filters", json={"phrase": "old", "context": ["home"]}, headers=a)
    ids["v1_filter"] = (await _ok(v1))["id"]
    upload = await client.post(
        "/api/v1/media", files={"file": ("a.png", samples.png(20, 20), "image/png")}, headers=a
    )
    ids["media"] = (await _ok(upload))["id"]
    ids["scheduled"] = (await post(a, status="later", scheduled_at=later))["id"]
    tag = await client.post("/api/v1/featured_tags", json={"name": "hidden"}, headers=a)
    ids["featured_tag"] = (await _ok(tag))["id"]
    await post(carol.headers, status="@alice hello")
    await drain_jobs()
    await _ok(
        await client.patch("/api/v2/notifications/policy", json={"for_not_following": "filter"}, headers=a)
    )
    await post(dave.headers, status="@alice hello too")
    await drain_jobs()
    conversations = await _ok(await client.get("/api/v1/conversations", headers=a))
    ids["conversation"] = conversations[0]["id"]
    notifications = (await client.get("/api/v1/notifications", headers=a)).json()
    ids["notification"] = notifications[0]["id"]
    grouped = (await client.get("/api/v2/notifications", headers=a)).json()
    ids["group"] = grouped["notification_groups"][0]["group_key"]
    requests = (await client.get("/api/v1/notifications/requests", headers=a)).json()
    ids["request"] = requests[0]["id"]
    erin = await make_user("erin")
    made_collection = await client.post(
        "/api/v1/collections",
        json={"name": "erin's", "account_ids": [str(bob.account_id)]},
        headers=erin.headers,
    )
    collection = (await _ok(made_collection))["collection"]
    ids["collection"] = collection["id"]
    ids["item"] = collection["items"][0]["id"]
    await _ok(await client.post(f"/api/v1/accounts/{bob.account_id}/block", headers=erin.headers))
    # Bob's own filter and list, to add Alice's things to.
    own = await client.post("/api/v2/filters", json={"title": "b", "context": ["home"]}, headers=bob.headers)
    ids["own_filter"] = (await _ok(own))["id"]
    own_list = await client.post("/api/v1/lists", json={"title": "mine"}, headers=bob.headers)
    ids["own_list"] = (await _ok(own_list))["id"]
    return {"ids": ids, "bob": bob, "alice": alice}


def _missing(ids: dict[str, str]) -> dict[str, str]:
    """The same names, each for an id that names nothing."""
    nothing = str(new_id())
    keep = {"later", "alice", "carol", "public", "own_filter", "own_list"}
    return {
        k: v if k in keep else (f"ungrouped-{nothing}" if k == "group" else nothing) for k, v in ids.items()
    }


async def test_hidden_objects_answer_as_if_they_did_not_exist(
    client: httpx.AsyncClient, make_user: Any, drain_jobs: Any
) -> None:
    made = await _hidden_objects(client, make_user, drain_jobs)
    hidden_ids, bob = made["ids"], made["bob"]
    missing_ids = _missing(hidden_ids)
    failures = []
    for case in CASES:
        answers = []
        for ids in (hidden_ids, missing_ids):
            path = _fill(case.path, ids)
            body = _fill(case.body, ids)
            response = await client.request(case.method, path, json=body, headers=bob.headers)
            # An id the client sent may be echoed back ("Media 12 not found"): that tells nothing.
            text = response.text
            for value in ids.values():
                text = text.replace(value, "{id}")
            answers.append((response.status_code, text))
        (hidden_status, hidden_body), (missing_status, missing_body) = answers
        where = f"{case.method} {case.path} {case.body or ''}"
        if answers[0] != answers[1]:
            failures.append(
                f"{where}: hidden {hidden_status} {hidden_body!r} != missing {missing_status} {missing_body!r}"
            )
        elif case.status is not None and hidden_status != case.status:
            failures.append(f"{where}: {hidden_status} {hidden_body!r}, expected {case.status}")
    assert not failures, "\n".join(failures)
    # Nothing Bob tried changed anything of Alice's.
    alice = made["alice"]
    for kind in ("private", "direct"):
        status = (await client.get(f"/api/v1/statuses/{hidden_ids[kind]}", headers=alice.headers)).json()
        assert (status["favourites_count"], status["reblogs_count"], status["replies_count"]) == (0, 0, 0)
        assert (
            status["content"] in ("<p>followers only</p>", status["content"])
            and "edited" not in status["content"]
        )
    assert (await client.get(f"/api/v1/lists/{hidden_ids['list']}", headers=alice.headers)).json()[
        "title"
    ] == "close"


async def test_suspended_accounts_and_blockers_answer_as_mastodon(
    client: httpx.AsyncClient, make_user: Any, container: Any
) -> None:
    """Unlike an account awaiting approval, a suspended account and one that blocks the caller
    exist for Mastodon's API: the profile is shown (a suspended one emptied), its lists are
    empty, following it is refused (404 suspended, 403 blocked, as FollowService), and the
    blocker's statuses are not found."""
    from sqlalchemy import update

    from kinfolk.domain.accounts.models import Account
    from kinfolk.kernel.clock import utcnow

    alice = await make_user("alice")
    bob = await make_user("bob")
    gone = await make_user("gone")
    public = (await client.post("/api/v1/statuses", json={"status": "hi"}, headers=alice.headers)).json()
    await _ok(await client.post(f"/api/v1/accounts/{bob.account_id}/block", headers=alice.headers))
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == gone.account_id).values(suspended_at=utcnow())
        )
    for target, follow in ((alice.account_id, 403), (gone.account_id, 404)):
        shown = await client.get(f"/api/v1/accounts/{target}", headers=bob.headers)
        assert shown.status_code == 200 and shown.json()["id"] == str(target)
        for listing in ("statuses", "followers", "following", "featured_tags", "endorsements", "lists"):
            answer = await client.get(f"/api/v1/accounts/{target}/{listing}", headers=bob.headers)
            assert (answer.status_code, answer.json()) == (200, []), listing
        assert (
            await client.post(f"/api/v1/accounts/{target}/follow", headers=bob.headers)
        ).status_code == follow
    for action in ("favourite", "reblog", "bookmark", "pin", "mute"):
        refused = await client.post(f"/api/v1/statuses/{public['id']}/{action}", headers=bob.headers)
        assert (refused.status_code, refused.json()) == (404, {"error": "Record not found"}), action
