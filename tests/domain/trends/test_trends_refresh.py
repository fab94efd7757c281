"""The trend computation's windows and link handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kinfolk.domain.trends import service


def test_normalize_link() -> None:
    assert service.normalize_link("HTTPS://Example.COM/Path?q=1#frag") == "https://example.com/Path?q=1"
    assert service.normalize_link("https://example.com") == "https://example.com/"
    assert service.normalize_link("ftp://example.com/x") is None
    assert service.normalize_link("https://[bad") is None


async def test_only_the_recent_window_scores_but_history_covers_the_week(container, make_user, post) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    now = datetime.now(UTC)
    old = now - timedelta(days=4)
    for user in (alice, bob, carol):
        await post(user, "#faded https://faded.example/", created_at=old)
    await post(alice, "#fresh https://fresh.example/")
    await post(bob, "#fresh https://fresh.example/")
    await post(carol, "#faded https://faded.example/")
    async with container.db.uow() as uow:
        await service.refresh(uow.session, local_host=container.settings.domain, now=now)
    async with container.db.uow(write=False) as uow:
        tags = await service.trending_tags(uow.session, None, 10, 0)
        links = await service.trending_links(uow.session, 10, 0)
    assert [t.name for t in tags] == ["fresh"]
    assert [link.url for link in links] == ["https://fresh.example/"]

    # A week later the fresh ones are stale too; history still shows the earlier days.
    later = now + timedelta(days=3)
    async with container.db.uow() as uow:
        await service.refresh(uow.session, local_host=container.settings.domain, now=later)
    async with container.db.uow(write=False) as uow:
        assert await service.trending_tags(uow.session, None, 10, 0) == []
