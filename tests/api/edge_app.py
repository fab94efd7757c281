"""A real app on SQLite for tests of the HTTP edge (CORS, hosts, per-request throttles), whose
behaviour does not depend on the database backend; settings as the test asks."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from tests.conftest import TEST_DOMAIN

from kinfolk.api.app import create_app
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.service import NewAccount, create_local_account
from kinfolk.domain.oauth.service import create_application, issue_token


@asynccontextmanager
async def edge_app(
    template: Path, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[Container, Starlette]]:
    path = tmp_path / f"edge-{len(list(tmp_path.glob('edge-*')))}.sqlite3"
    shutil.copy(template, path)
    values: dict[str, Any] = {
        "domain": TEST_DOMAIN,
        "protocol": "https",
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite+aiosqlite:///{path}",
        "secret_key": "test-secret-key",
        **overrides,
    }
    container = Container.build(Settings(**values), pool_size=2)
    try:
        yield container, create_app(container)
    finally:
        await container.close()


def client_for(
    app: Starlette, peer: str = "203.0.113.7", base_url: str = f"https://{TEST_DOMAIN}"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def user_with_token(container: Container, username: str) -> tuple[int, str]:
    """A local account and a bearer token for it: (account id, token)."""
    async with container.db.uow() as uow:
        account, user = await create_local_account(
            uow.session,
            NewAccount(username=username, email=f"{username}@example.com", password="correct horse battery"),
            uris=container.uris,
        )
        app = await create_application(uow.session, name=f"edge-{username}", scopes="read write follow")
        issued = await issue_token(
            uow.session, application=app, user=user, scopes=["read", "write", "follow"]
        )
    return account.id, issued.access_token
