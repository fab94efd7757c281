"""Per-container federation services: the one outbound `Transport` and the signers.

A process has one container and should have one aiohttp session (one connection pool), made in
the running event loop on first use and closed with the container (`Container.closers`). The
signers turn a key pair into the `Signer` the transport calls for each request and hop: the
instance actor's key for our fetches (a server in secure mode accepts a fetch signed by a
server, whoever asked for it), an account's key for what that account sends.
"""

from __future__ import annotations

from functools import partial

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation.instance_key import instance_key
from kinfolk.federation.signatures import sign_request
from kinfolk.federation.transport import Signer, Transport
from kinfolk.kernel.uris import Uris

_TRANSPORT = "federation.transport"


def transport(container: Container) -> Transport:
    """The container's transport, made on first use; closed when the container closes."""
    found = container.extras.get(_TRANSPORT)
    if isinstance(found, Transport):
        return found
    made = Transport(container.settings)
    container.extras[_TRANSPORT] = made

    async def close() -> None:
        container.extras.pop(_TRANSPORT, None)
        await made.close()

    container.closers.append(close)
    return made


async def instance_signer(container: Container) -> Signer:
    """Signs as the instance actor (`/actor`, key id `Uris.instance_key_id()`)."""
    keys = await instance_key(container.db)
    return partial(
        sign_request, key_id=container.uris.instance_key_id(), private_key_pem=keys.private_key_pem
    )


def account_signer(account: Account, uris: Uris | None = None) -> Signer:
    """Signs as a local account, with the key its actor document publishes (its stored
    `public_key_id`, else `<actor>#main-key`); ValueError for an account without a private key
    (a remote one)."""
    if not account.private_key_pem:
        raise ValueError(f"account {account.id} has no private key")
    key_id = account.public_key_id
    if not key_id:
        if uris is not None:
            key_id = uris.key_id(account.username)
        elif account.uri:
            key_id = f"{account.uri}#main-key"
        else:
            raise ValueError(f"account {account.id} has no actor id to name its key by")
    return partial(sign_request, key_id=key_id, private_key_pem=account.private_key_pem)
