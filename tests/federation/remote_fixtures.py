"""The fixtures of the tests that run federation code in process against fake remote servers:
settings that let the outbound guard reach the loopback, the app's container built from them,
and a fake remote server (`remote_docs.FakeRemote`). A test module takes them with
`settings = remote_fixtures.settings` and so on (an import would be shadowed by the
tests' parameters)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kinfolk.config import Settings
from kinfolk.container import Container
from tests.federation.remote_docs import FakeRemote, fake_remote, remote_container, remote_settings


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return remote_settings(db_url, tmp_path)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    async with remote_container(settings) as made:
        yield made


@pytest.fixture
async def remote() -> AsyncIterator[FakeRemote]:
    async with fake_remote() as server:
        yield server
