"""Mastodon's rate limits over HTTP: the per-request throttles (by address, account, token), the
per-account families (statuses, follows, reports), their X-RateLimit-* headers, and 429s that
change nothing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from tests.api.edge_app import client_for, edge_app, user_with_token
from tests.conftest import REDIS_URL, unavailable

from kinfolk.api.rate_limits import family_key, throttle_key
from kinfolk.container import Container
from kinfolk.domain import rate_limits as table
from kinfolk.domain.accounts import service as accounts_service
from kinfolk.domain.moderation.models import Report
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import ScheduledStatus, Status
from kinfolk.domain.tags.models import TagFollow
from kinfolk.jobs.models import Job

PEER = "203.0.113.7"


@pytest.fixture(autouse=True)
def _quick_users(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests never sign in: skip the deliberately slow password hash when making users."""
    monkeypatch.setattr(accounts_service, "hash_password", lambda password: "not-a-usable-hash")


@pytest.fixture(params=["memory", "redis"])
async def limits(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """Settings for an app counting in process, or in Redis under a prefix of this test's own."""
    if request.param == "memory":
        yield {}
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    prefix = f"kinfolk-test-rl-{secrets.token_hex(4)}:"
    try:
        yield {"redis_url": REDIS_URL, "redis_prefix": prefix}
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def _limit_headers(response: httpx.Response) -> tuple[int, int, datetime]:
    reset = datetime.strptime(response.headers["x-ratelimit-reset"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        int(response.headers["x-ratelimit-limit"]),
        int(response.headers["x-ratelimit-remaining"]),
        reset.replace(tzinfo=UTC),
    )


async def _fill(container: Container, key: str, limit: table.Limit, count: int) -> None:
    for _ in range(count):
        await container.ratelimiter.take(key, limit.limit, limit.period)


async def test_api_requests_are_throttled_by_address_and_by_token(
    sqlite_template: Path, tmp_path: Path, limits: dict[str, Any]
) -> None:
    async with edge_app(sqlite_template, tmp_path, **limits) as (container, app):
        _, token = await user_with_token(container, "alice")
        async with client_for(app) as client:
            first = await client.get("/api/v1/instance")
            second = await client.get("/api/v1/timelines/public")
            assert first.status_code == second.status_code == 200
            limit, remaining, reset = _limit_headers(first)
            assert (limit, remaining) == (300, 299)
            assert _limit_headers(second)[:2] == (300, 298)
            # The end of the current five-minute window, as Mastodon's header says.
            now = datetime.now(UTC)
            assert reset.timestamp() % 300 == 0 and 0 < (reset - now).total_seconds() <= 300

            # With a user's token: the per-token throttle (300) is the tighter of the two shown.
            mine = await client.get(
                "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
            )
            assert mine.status_code == 200
            assert _limit_headers(mine)[:2] == (300, 299)

            # The address's 300 used up: 429 in Mastodon's form, before any route runs.
            await _fill(
                container,
                throttle_key(table.UNAUTHENTICATED_API, f"ip:{PEER}"),
                table.UNAUTHENTICATED_API,
                298,
            )
            refused = await client.get("/api/v1/instance", headers={"Origin": "https://elk.zone"})
            assert refused.status_code == 429
            assert refused.json() == {"error": "Too many requests"}
            assert _limit_headers(refused)[:2] == (300, 0)
            assert refused.headers["access-control-allow-origin"] == "*"
            # The user's token still works from that address; another address is not affected.
            assert (
                await client.get(
                    "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
                )
            ).status_code == 200
        async with client_for(app, peer="198.51.100.9") as other:
            assert (await other.get("/api/v1/instance")).status_code == 200
        # Loopback is an address like any other unless listed as exempt.
        async with client_for(app, peer="127.0.0.1") as local:
            response = await local.get("/api/v1/instance")
            assert response.status_code == 200 and response.headers["x-ratelimit-limit"] == "300"
        # HTML pages are not counted.
        async with client_for(app) as client:
            assert "x-ratelimit-limit" not in (await client.get("/")).headers

    if limits:
        # Another process with the same Redis and prefix shares the counts.
        async with (
            edge_app(sqlite_template, tmp_path, **limits) as (_, second_app),
            client_for(second_app) as c,
        ):
            assert (await c.get("/api/v1/instance")).status_code == 429


async def test_media_uploads_and_confirmation_mails_have_throttles_of_their_own(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with edge_app(sqlite_template, tmp_path) as (container, app):
        account_id, token = await user_with_token(container, "alice")
        await _fill(container, throttle_key(table.API_MEDIA, f"account:{account_id}"), table.API_MEDIA, 30)
        async with client_for(app) as client:
            response = await client.post(
                "/api/v2/media",
                files={"file": ("a.png", b"not even an image", "image/png")},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 429
        assert _limit_headers(response)[:2] == (30, 0)
        assert response.json() == {"error": "Too many requests"}
        # Resending confirmation e-mails: 25 per address in 5 minutes.
        limit = table.EMAIL_CONFIRMATIONS_PER_IP
        await _fill(container, throttle_key(limit, f"ip:{PEER}"), limit, 25)
        async with client_for(app) as client:
            resent = await client.post(
                "/api/v1/emails/confirmations", headers={"Authorization": f"Bearer {token}"}
            )
        assert resent.status_code == 429
        assert _limit_headers(resent)[:2] == (25, 0)


async def test_switched_off_nothing_is_counted_or_shown(sqlite_template: Path, tmp_path: Path) -> None:
    async with edge_app(sqlite_template, tmp_path, rate_limits=False) as (container, app):
        _, token = await user_with_token(container, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        async with client_for(app) as client:
            for _ in range(3):
                response = await client.get("/api/v1/instance")
                assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers
            posted = await client.post("/api/v1/statuses", data={"status": "hi"}, headers=auth)
            assert posted.status_code == 200 and "x-ratelimit-limit" not in posted.headers


async def _count(container: Container, model: Any, **where: Any) -> int:
    async with container.db.uow(write=False) as uow:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return int((await uow.session.execute(stmt)).scalar_one())


async def test_statuses_family_refuses_past_300_and_a_429_stores_nothing(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    bobs = (await client.post("/api/v1/statuses", data={"status": "boost me"}, headers=bob.headers)).json()
    key = family_key(table.STATUSES, alice.account_id)
    await _fill(container, key, table.STATUSES, 298)

    # A post refused for another reason gives its count back.
    invalid = await client.post("/api/v1/statuses", data={"status": ""}, headers=alice.headers)
    assert invalid.status_code == 422
    once = {**alice.headers, "Idempotency-Key": "k1"}
    ok = await client.post("/api/v1/statuses", data={"status": "299th"}, headers=once)
    assert ok.status_code == 200
    assert _limit_headers(ok)[:2] == (300, 1)
    # The same Idempotency-Key again answers the same status and counts nothing.
    replay = await client.post("/api/v1/statuses", data={"status": "299th"}, headers=once)
    assert replay.json()["id"] == ok.json()["id"]
    assert _limit_headers(replay)[:2] == (300, 1)
    assert _limit_headers(ok)[2].timestamp() % table.STATUSES.period == 0
    boost = await client.post(f"/api/v1/statuses/{bobs['id']}/reblog", headers=alice.headers)
    assert boost.status_code == 200
    assert _limit_headers(boost)[:2] == (300, 0)

    statuses_before = await _count(container, Status, account_id=alice.account_id)
    jobs_before = await _count(container, Job)
    refused = await client.post("/api/v1/statuses", data={"status": "one too many"}, headers=alice.headers)
    assert refused.status_code == 429
    assert _limit_headers(refused)[:2] == (300, 0)
    scheduled = await client.post(
        "/api/v1/statuses",
        data={"status": "later", "scheduled_at": "2099-01-01T00:00:00Z"},
        headers=alice.headers,
    )
    assert scheduled.status_code == 429
    assert await _count(container, Status, account_id=alice.account_id) == statuses_before
    assert await _count(container, ScheduledStatus, account_id=alice.account_id) == 0
    assert await _count(container, Job) == jobs_before
    await client.post(f"/api/v1/statuses/{bobs['id']}/unreblog", headers=alice.headers)
    statuses_before = await _count(container, Status, account_id=alice.account_id)
    jobs_before = await _count(container, Job)
    again = await client.post(f"/api/v1/statuses/{bobs['id']}/reblog", headers=alice.headers)
    assert again.status_code == 429
    assert await _count(container, Status, account_id=alice.account_id) == statuses_before
    assert await _count(container, Job) == jobs_before
    # Other accounts are not affected.
    assert (
        await client.post("/api/v1/statuses", data={"status": "fine"}, headers=bob.headers)
    ).status_code == 200


async def test_follows_and_reports_families_refuse_and_store_nothing(
    client: httpx.AsyncClient, container: Container, make_user: Any
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await _fill(container, family_key(table.FOLLOWS, alice.account_id), table.FOLLOWS, 400)
    await _fill(container, family_key(table.REPORTS, alice.account_id), table.REPORTS, 399)

    refused = await client.post(f"/api/v1/accounts/{bob.account_id}/follow", headers=alice.headers)
    assert refused.status_code == 429
    assert _limit_headers(refused)[:2] == (400, 0)
    assert await _count(container, Follow, account_id=alice.account_id) == 0
    tag = await client.post("/api/v1/tags/kinfolk/follow", headers=alice.headers)
    assert tag.status_code == 429
    assert await _count(container, TagFollow, account_id=alice.account_id) == 0

    filed = await client.post(
        "/api/v1/reports", data={"account_id": str(bob.account_id)}, headers=alice.headers
    )
    assert filed.status_code == 200
    assert _limit_headers(filed)[:2] == (400, 0)
    again = await client.post(
        "/api/v1/reports", data={"account_id": str(bob.account_id)}, headers=alice.headers
    )
    assert again.status_code == 429
    assert await _count(container, Report, account_id=alice.account_id) == 1


async def test_the_address_counted_is_the_real_clients_behind_trusted_proxies_only(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with edge_app(sqlite_template, tmp_path, trusted_proxies="10.0.0.0/8") as (container, app):
        limit = table.UNAUTHENTICATED_API
        await _fill(container, throttle_key(limit, f"ip:{PEER}"), limit, 300)
        async with client_for(app, peer="10.0.0.2") as proxy:
            assert (await proxy.get("/api/v1/instance", headers={"X-Forwarded-For": PEER})).status_code == 429
            other = await proxy.get("/api/v1/instance", headers={"X-Forwarded-For": "198.51.100.9"})
            assert other.status_code == 200
        # A client cannot pass for another address by sending the header itself.
        async with client_for(app, peer=PEER) as direct:
            spoofed = await direct.get("/api/v1/instance", headers={"X-Forwarded-For": "198.51.100.9"})
            assert spoofed.status_code == 429
        # Nor pass for loopback (not throttled) by starting the header the proxy appends to.
        async with client_for(app, peer="10.0.0.2") as proxy:
            loop = await proxy.get("/api/v1/instance", headers={"X-Forwarded-For": f"127.0.0.1, {PEER}"})
            assert loop.status_code == 429
        # IPv6 clients are counted by their /64.
        await _fill(container, throttle_key(limit, "ip:2001:db8::/64"), limit, 300)
        async with client_for(app, peer="2001:db8::abcd") as neighbour:
            assert (await neighbour.get("/api/v1/instance")).status_code == 429


async def test_exempt_addresses_skip_the_per_request_throttles(sqlite_template: Path, tmp_path: Path) -> None:
    """KINFOLK_RATE_LIMIT_EXEMPT (Mastodon safelists loopback): listed networks are not throttled
    per request and get no headers; other addresses still are."""
    async with edge_app(sqlite_template, tmp_path, rate_limit_exempt="127.0.0.1/32, ::1/128") as (
        container,
        app,
    ):
        limit = table.UNAUTHENTICATED_API
        await _fill(container, throttle_key(limit, "ip:127.0.0.1"), limit, 300)
        await _fill(container, throttle_key(limit, f"ip:{PEER}"), limit, 300)
        async with client_for(app, peer="127.0.0.1") as local:
            response = await local.get("/api/v1/instance")
            assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers
        async with client_for(app, peer=PEER) as remote:
            assert (await remote.get("/api/v1/instance")).status_code == 429
