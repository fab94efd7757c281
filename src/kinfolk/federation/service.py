"""Per-process federation services hung on the container: the one `Transport` and the signers.

The transport holds the process's aiohttp session (one connection pool for every delivery and
fetch), so it is made once per container on first use, inside the running loop, and closed with
the container.
"""

from __future__ import annotations

from functools import partial

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation.signatures import sign_request
from kinfolk.federation.transport import Signer, Transport
from kinfolk.kernel.uris import Uris

_TRANSPORT = "federation.transport"


def transport(container: Container) -> Transport:
    """The container's transport, made on first use and closed by `container.close()`."""
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


def account_signer(account: Account, uris: Uris) -> Signer:
    """Signs as a local account, with the key its actor document publishes."""
    if not account.private_key_pem:
        raise ValueError(f"account {account.id} has no private key")
    key_id = account.public_key_id or uris.key_id(account.username)
    return partial(sign_request, key_id=key_id, private_key_pem=account.private_key_pem)
