"""Remote accounts' avatars and headers: copied from a real HTTP server on 127.0.0.1 by a job,
processed as uploads are, shown from their origin until then, copied again only for a new URL."""

from __future__ import annotations

from typing import Any

import httpx
from PIL import Image
from sqlalchemy import func, select
from tests.domain.media import samples
from tests.domain.media.test_media_remote import RemoteServer, allow_loopback, origin  # noqa: F401

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.accounts.remote_images import COPY_JOB
from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
from kinfolk.jobs.models import Job

MISSING_AVATAR = "https://kinfolk.test/avatars/original/missing.png"
MEDIA = "https://kinfolk.test/media/"


async def _entity(client: httpx.AsyncClient, account_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/accounts/{account_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _row(container: Container, account_id: int) -> Account:
    async with container.db.uow(write=False) as uow:
        row = await uow.session.get(Account, account_id)
        assert row is not None
        return row


async def _copy_jobs(container: Container) -> int:
    async with container.db.uow(write=False) as uow:
        count = await uow.session.execute(select(func.count()).select_from(Job).where(Job.kind == COPY_JOB))
        return int(count.scalar_one())


async def test_avatar_and_header_are_copied_then_shown_from_here(
    container: Container,
    client: httpx.AsyncClient,
    drain_jobs: Any,
    make_remote_account: Any,
    origin: RemoteServer,  # noqa: F811
    allow_loopback: None,  # noqa: F811
) -> None:
    origin.files["/a.png"] = (samples.png(800, 600), "image/png")
    origin.files["/h.gif"] = (samples.animated_gif(size=(300, 100)), "image/gif")
    bob = await make_remote_account(
        "bob", avatar_remote_url=f"{origin.url}/a.png", header_remote_url=f"{origin.url}/h.gif"
    )
    before = await _entity(client, bob.id)
    assert before["avatar"] == before["avatar_static"] == f"{origin.url}/a.png"
    assert before["header"] == before["header_static"] == f"{origin.url}/h.gif"

    await drain_jobs()
    after = await _entity(client, bob.id)
    assert after["avatar"].startswith(MEDIA + "accounts/avatars/")
    assert after["header"].startswith(MEDIA + "accounts/headers/")
    assert after["avatar_static"] == after["avatar"] and after["header_static"] == after["header"]
    row = await _row(container, bob.id)
    assert row.avatar_key and row.header_key
    with Image.open(container.settings.media_dir / row.avatar_key) as avatar:
        assert avatar.size == (400, 400)
    with Image.open(container.settings.media_dir / row.header_key) as header:
        assert header.size == (1500, 500) and not getattr(header, "is_animated", False)
    assert sorted(origin.hits) == ["/a.png", "/h.gif"]

    # The same URLs again (a refreshed actor): nothing is fetched again.
    await make_remote_account(
        "bob", avatar_remote_url=f"{origin.url}/a.png", header_remote_url=f"{origin.url}/h.gif"
    )
    assert await _copy_jobs(container) == 2
    await drain_jobs()
    assert len(origin.hits) == 2 and (await _row(container, bob.id)).avatar_key == row.avatar_key

    # A new avatar: the old copy goes, the new URL shows until it is copied too.
    origin.files["/b.png"] = (samples.png(200, 200), "image/png")
    await make_remote_account(
        "bob", avatar_remote_url=f"{origin.url}/b.png", header_remote_url=f"{origin.url}/h.gif"
    )
    assert (await _entity(client, bob.id))["avatar"] == f"{origin.url}/b.png"
    assert (await _entity(client, bob.id))["header"] == after["header"]
    await drain_jobs()
    changed = await _row(container, bob.id)
    assert changed.avatar_key and changed.avatar_key != row.avatar_key
    assert changed.header_key == row.header_key
    assert not (container.settings.media_dir / row.avatar_key).exists()
    assert (container.settings.media_dir / changed.avatar_key).exists()
    assert origin.hits[-1] == "/b.png" and len(origin.hits) == 3

    # No avatar any more: the copy goes, the default shows.
    await make_remote_account("bob", header_remote_url=f"{origin.url}/h.gif")
    assert (await _entity(client, bob.id))["avatar"] == MISSING_AVATAR
    await drain_jobs()
    assert not (container.settings.media_dir / changed.avatar_key).exists()


async def test_nothing_is_fetched_from_a_server_whose_media_we_reject(
    container: Container,
    client: httpx.AsyncClient,
    drain_jobs: Any,
    make_remote_account: Any,
    origin: RemoteServer,  # noqa: F811
    allow_loopback: None,  # noqa: F811
) -> None:
    async with container.db.uow() as uow:
        await block_domain(uow.session, BlockRequest("remote.example", severity="noop", reject_media=True))
    origin.files["/a.png"] = (samples.png(), "image/png")
    bob = await make_remote_account("bob", avatar_remote_url=f"{origin.url}/a.png")
    await drain_jobs()
    assert origin.hits == []
    assert (await _row(container, bob.id)).avatar_key is None
    assert (await _entity(client, bob.id))["avatar"] == f"{origin.url}/a.png"


async def test_failures_keep_the_remote_url_and_unsafe_urls_show_the_default(
    container: Container,
    client: httpx.AsyncClient,
    drain_jobs: Any,
    make_remote_account: Any,
    origin: RemoteServer,  # noqa: F811
) -> None:
    # Not an image; and a private address that the operator did not allow (no connection made).
    origin.files["/evil.png"] = (b"<svg onload=alert(1)></svg>", "image/png")
    bob = await make_remote_account("bob", avatar_remote_url=f"{origin.url}/evil.png")
    await drain_jobs()
    assert origin.hits == []
    container.settings.allowed_private_addresses = "127.0.0.1/32"
    container.settings.__dict__.pop("allowed_private_networks", None)
    carol = await make_remote_account("carol", avatar_remote_url=f"{origin.url}/evil.png")
    await drain_jobs()
    assert origin.hits == ["/evil.png"]
    for account in (bob, carol):
        assert (await _row(container, account.id)).avatar_key is None
        assert (await _entity(client, account.id))["avatar"] == f"{origin.url}/evil.png"
    assert samples.files_under(container.settings.media_dir) == []

    dave = await make_remote_account("dave", avatar_remote_url="javascript:alert(1)")
    assert (await _entity(client, dave.id))["avatar"] == MISSING_AVATAR
    await drain_jobs()
    assert origin.hits == ["/evil.png"]


async def test_nothing_is_copied_when_remote_media_is_not_cached(
    container: Container,
    drain_jobs: Any,
    make_remote_account: Any,
    origin: RemoteServer,  # noqa: F811
    allow_loopback: None,  # noqa: F811
) -> None:
    container.settings.cache_remote_media = False
    origin.files["/a.png"] = (samples.png(), "image/png")
    bob = await make_remote_account("bob", avatar_remote_url=f"{origin.url}/a.png")
    await drain_jobs()
    assert origin.hits == [] and (await _row(container, bob.id)).avatar_key is None
