"""Shared fixtures: a real database per test (SQLite always, PostgreSQL when reachable), a
container, an in-process HTTP client, and factories for users and tokens.

PostgreSQL: one database per test session, migrated once, tables truncated between tests.
With KINFOLK_REQUIRE_SERVICES=1 an unreachable PostgreSQL or Redis fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from kinfolk.api.app import create_app
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.db.migrate import upgrade
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token

# Tests build their own settings: a developer's KINFOLK_* environment or kinfolk.toml must not leak
# into them (make run's KINFOLK_PROTOCOL=http once did).
_KEEP = {"KINFOLK_REQUIRE_SERVICES", "KINFOLK_JOB_MODULES"}
for _name in [n for n in os.environ if n.startswith("KINFOLK_")]:
    if _name not in _KEEP and not _name.startswith("KINFOLK_TEST_"):
        del os.environ[_name]
os.environ["KINFOLK_CONFIG"] = os.devnull

PG_ADMIN_URL = os.environ.get("KINFOLK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("KINFOLK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("KINFOLK_REQUIRE_SERVICES") == "1"
TEST_DOMAIN = "kinfolk.test"


# Modules whose tests time themselves (bounded-work budgets, growth ratios, "answers within N s"):
# `make test` runs the rest on every core (pytest-xdist) and these alone afterwards (`-m serial`),
# where a neighbour's load cannot make them fail.
SERIAL_MODULES = frozenset(
    {
        "tests/api/test_http_growth.py",
        "tests/api/test_media_bad_input.py",
        "tests/api/test_request_log.py",
        "tests/api/test_statuses_bounded.py",
        "tests/api/test_streaming.py",
        "tests/db/test_sqlite_driver.py",
        "tests/domain/accounts/test_account_profile_rules.py",
        "tests/domain/filters/test_matching.py",
        "tests/domain/search/test_query_growth.py",
        "tests/federation/parse/test_parse_growth.py",
        "tests/infra/test_images.py",
        "tests/jobs/test_wakeup.py",
        "tests/text/test_compose.py",
        "tests/text/test_growth.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        path = Path(str(item.path))
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        if relative in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)


def unavailable(what: str, why: object) -> None:
    """In CI (KINFOLK_REQUIRE_SERVICES=1) a missing service or capability fails; elsewhere it skips."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (KINFOLK_REQUIRE_SERVICES=1) but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_base(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"kinfolk_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable("PostgreSQL", exc)
    url = f"{_pg_base(PG_ADMIN_URL)}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_pg(url: str) -> None:
    import asyncpg

    from kinfolk.db.models import Base

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        # DELETE is far cheaper than TRUNCATE for the few rows a test leaves behind.
        statements = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        await conn.execute(f"BEGIN; {statements}; COMMIT")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database; tests using it run once per backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kinfolk.sqlite3"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_empty_pg(url))
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        domain=TEST_DOMAIN,
        protocol="https",
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="test-secret-key",
        registrations="open",
    )


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    c = Container.build(settings, pool_size=5)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def app(container: Container) -> Starlette:
    return create_app(container)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        yield c


@dataclass
class LocalUser:
    account_id: int
    user_id: int
    username: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(container: Container):  # type: ignore[no-untyped-def]
    """`await make_user("alice", scopes="read write")` gives a user with a bearer token."""

    async def factory(
        username: str = "alice",
        *,
        scopes: str = "read write follow push",
        role: str = "user",
        password: str = "correct horse battery",
        approved: bool = True,
        locked: bool = False,
    ) -> LocalUser:
        async with container.db.uow() as uow:
            account, user = await create_local_account(
                uow.session,
                NewAccount(
                    username=username,
                    email=f"{username}@example.com",
                    password=password,
                    role=role,
                    approved=approved,
                    locked=locked,
                    allow_reserved=True,
                ),
                uris=container.uris,
            )
            app = await create_application(
                uow.session, name=f"test-{username}", scopes="read write follow push profile"
            )
            issued = await issue_token(uow.session, application=app, user=user, scopes=scopes.split())
        return LocalUser(account.id, user.id, username, user.email, password, issued.access_token)

    return factory


@pytest.fixture
def drain_jobs(container: Container):  # type: ignore[no-untyped-def]
    """`await drain_jobs()` runs every due job to completion, as the worker would, and fails the
    test if any job ended dead (a handler error must not pass silently)."""
    from sqlalchemy import select

    from kinfolk.jobs.models import DEAD, Job
    from kinfolk.jobs.worker import Worker

    worker = Worker(container, concurrency=1, listen=False)

    async def drain(max_rounds: int = 200) -> int:
        ran = 0
        for _ in range(max_rounds):
            n = await worker.run_once()
            if n == 0:
                break
            ran += n
        async with container.db.uow(write=False) as uow:
            dead = (
                await uow.session.execute(select(Job.kind, Job.last_error).where(Job.state == DEAD))
            ).all()
        assert not dead, f"jobs died: {dead}"
        return ran

    return drain


@pytest.fixture
def make_remote_account(container: Container):  # type: ignore[no-untyped-def]
    """`await make_remote_account("bob", "remote.example")`: through the federation upsert."""
    from tests import remote

    async def factory(username: str = "bob", domain: str = "remote.example", **fields: Any) -> Any:
        return await remote.make_remote_account(container, username, domain, **fields)

    return factory


@pytest.fixture
def make_remote_status(container: Container):  # type: ignore[no-untyped-def]
    """`await make_remote_status(account, "text")`: through the store a remote `Create` uses."""
    from tests import remote

    async def factory(account: Any, text: str = "", **kw: Any) -> Any:
        return await remote.make_remote_status(container, account, text, **kw)

    return factory
