"""The fault tests (`make faults`, run by .ci/run): real Kinfolk processes killed, databases
restarted, Redis stopped, disks filled. They take minutes, so `make test` leaves them out unless
KINFOLK_TEST_FAULTS=1 (which `make faults` sets)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import shared_pg_database

RUN_FAULTS = os.environ.get("KINFOLK_TEST_FAULTS") == "1"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not RUN_FAULTS and collection_path.name.startswith("test_"):
        return True
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated: `kinfolk serve` migrates it) on either backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'kinfolk.sqlite3'}"
        return
    yield from shared_pg_database()
