"""Per-container federation services: the one outbound `Transport` and the signers.

A process has one container and should have one aiohttp session (one connection pool), made in
the running event loop on first use and closed with the container (`Container.closers`). The
signers turn a key pair into the `Signer` the transport calls for each request and hop: the
instance actor's key for our fetches (a server in secure mode accepts a fetch signed by a
server, whoever asked for it), an account's key for what that account sends.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation.instance_key import instance_key
from kinfolk.federation.message_signatures import sign_message
from kinfolk.federation.signatures import sign_request
from kinfolk.federation.transport import Signer, Transport
from kinfolk.kernel.uris import Uris

_TRANSPORT = "federation.transport"

Scheme = Literal["cavage", "rfc9421"]
CAVAGE: Scheme = "cavage"
RFC9421: Scheme = "rfc9421"


def default_scheme(container: Container) -> Scheme:
    """What to sign with when nothing is known of the peer: RFC 9421 only when the settings
    say so, else draft-cavage (what every server verifies today)."""
    return RFC9421 if container.settings.http_signatures == RFC9421 else CAVAGE


def signer_for(key_id: str, private_key_pem: str, scheme: Scheme) -> Signer:
    """A key's signer in one of the two schemes (the transport does not know which)."""
    sign = sign_message if scheme == RFC9421 else sign_request
    return partial(sign, key_id=key_id, private_key_pem=private_key_pem)


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
    """Signs as the instance actor (`/actor`, key id `Uris.instance_key_id()`), in the default
    scheme (fetches are not double-knocked)."""
    keys = await instance_key(container.db)
    return signer_for(container.uris.instance_key_id(), keys.private_key_pem, default_scheme(container))


async def instance_signers(container: Container) -> Callable[[Scheme], Signer]:
    """The instance actor's signer in either scheme, for deliveries (which double-knock)."""
    keys = await instance_key(container.db)
    return partial(signer_for, container.uris.instance_key_id(), keys.private_key_pem)


def account_signer(account: Account, uris: Uris | None = None, scheme: Scheme = CAVAGE) -> Signer:
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
    return signer_for(key_id, account.private_key_pem, scheme)
