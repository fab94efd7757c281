"""Tag names and usage history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kinfolk.domain.tags import service
from kinfolk.domain.tags.repo import find_tag
from kinfolk.kernel.errors import NotFound, Unprocessable


def test_check_name() -> None:
    assert service.check_name("#Café") == "Café"
    assert service.check_name("snake_case") == "snake_case"
    assert service.check_name("tag·dot") == "tag·dot"
    for bad in ("123", "", "#", "!!!", "__"):
        with pytest.raises(NotFound):
            service.check_name(bad)
    for bad in ("foo-bar", "two words", "x" * 256, "a#b"):
        with pytest.raises(Unprocessable):
            service.check_name(bad)


async def test_history_counts_public_originals_per_utc_day(container, make_user, post) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    await post(alice, "#history today")
    await post(bob, "#history today too")
    await post(alice, "#history yesterday", created_at=today - timedelta(hours=1))
    await post(alice, "#history three days ago", created_at=today - timedelta(days=2, hours=12))
    await post(alice, "#history long ago", created_at=today - timedelta(days=10))
    await post(bob, "#history unlisted", visibility="unlisted")
    async with container.db.uow(write=False) as uow:
        tag = await find_tag(uow.session, "history")
        assert tag is not None
        history = (await service.histories(uow.session, [tag.id], now=now))[tag.id]
    assert [(h["uses"], h["accounts"]) for h in history] == [
        ("2", "2"),
        ("1", "1"),
        ("0", "0"),
        ("1", "1"),
        ("0", "0"),
        ("0", "0"),
        ("0", "0"),
    ]
    assert history[0]["day"] == str(int(today.timestamp()))
    assert history[6]["day"] == str(int((today - timedelta(days=6)).timestamp()))
