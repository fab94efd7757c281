"""The container's federation services: one transport, closed with the container; signers whose
signatures verify with the published keys."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation import service
from kinfolk.federation.instance_key import instance_key
from kinfolk.federation.signatures import check_request, verify


async def test_one_transport_closed_with_the_container(settings: Settings) -> None:
    container = Container.build(settings, pool_size=2)
    made = service.transport(container)
    assert service.transport(container) is made
    session = made.session
    await container.close()
    assert session.closed
    assert "federation.transport" not in container.extras


def _verifies(signer: service.Signer, public_pem: str) -> str:
    url = "https://remote.example/users/bob/inbox"
    body = b'{"type": "Follow"}'
    headers = {"Content-Type": "application/activity+json"}
    headers.update(signer("POST", url, headers, body))
    params = check_request("POST", urlsplit(url).path, headers, body)
    verify(params, "POST", urlsplit(url).path, headers, public_pem)
    return params.key_id


async def test_signers(container: Container, make_user) -> None:  # type: ignore[no-untyped-def]
    keys = await instance_key(container.db)
    signer = await service.instance_signer(container)
    assert _verifies(signer, keys.public_key_pem) == container.uris.instance_key_id()
    alice = await make_user("alice")
    async with container.db.uow(write=False) as uow:
        account = (
            await uow.session.execute(select(Account).where(Account.id == alice.account_id))
        ).scalar_one()
    key_id = _verifies(service.account_signer(account, container.uris), account.public_key_pem)
    assert key_id == container.uris.key_id("alice")
