"""Fixtures for the job tests: the test-only marks table, empty before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kinfolk.container import Container
from tests.jobs import sample_handlers


@pytest.fixture
async def marks(container: Container) -> AsyncIterator[None]:
    await sample_handlers.create_marks_table(container.db)
    sample_handlers.STARTED.clear()
    yield
