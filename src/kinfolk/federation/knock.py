"""Double-knocking: which HTTP signature each remote host accepts, learnt by asking twice once.

Deliveries go out signed with draft-cavage or with RFC 9421 (`service.signer_for`). With
`settings.http_signatures = "auto"`, a host we know nothing of gets draft-cavage first, as
Mastodon does (every server verifies it today; some answer an RFC 9421 signature they do not
understand with a stripped-down success instead of an error, so a failed 9421 can't be relied on
to tell). When it answers 400, 401 or 403, the same delivery is sent once more signed the other
way; whichever scheme got a 2xx is remembered for the host (`signature_hosts`), so the next
deliveries knock once. A remembered scheme that starts failing is knocked past the same way, and
the memory follows what works. With "rfc9421" or "cavage" only that one is sent.

The lookup is one primary-key read in the delivery's own short read; the memory is written only
when it changes, in a unit of work of its own after the request (no network inside a transaction).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.container import Container
from kinfolk.db.upsert import insert_for
from kinfolk.domain.instance.delivery_hosts import host_of
from kinfolk.federation.models import SignatureHost
from kinfolk.federation.service import CAVAGE, RFC9421, Scheme, transport
from kinfolk.federation.transport import DeliveryResult, Signer
from kinfolk.kernel.clock import utcnow

# What a server answers a signature it does not accept with (Mastodon: 401; others 400 or 403).
KNOCK_AGAIN = frozenset({400, 401, 403})


async def remembered(session: AsyncSession, domain: str) -> Scheme | None:
    """The scheme `domain` accepted last, None when we never learnt one."""
    found = (
        await session.execute(select(SignatureHost.scheme).where(SignatureHost.domain == host_of(domain)))
    ).scalar_one_or_none()
    if found == RFC9421:
        return RFC9421
    if found == CAVAGE:
        return CAVAGE
    return None


async def remember(container: Container, domain: str, scheme: Scheme) -> None:
    async with container.db.uow() as uow:
        await uow.session.execute(
            insert_for(uow.session, SignatureHost)
            .values(domain=host_of(domain), scheme=scheme, updated_at=utcnow())
            .on_conflict_do_update(index_elements=["domain"], set_={"scheme": scheme, "updated_at": utcnow()})
        )


def _other(scheme: Scheme) -> Scheme:
    return CAVAGE if scheme == RFC9421 else RFC9421


async def post_signed(
    container: Container,
    inbox: str,
    body: bytes,
    signer: Callable[[Scheme], Signer],
    domain: str,
    known: Scheme | None,
) -> DeliveryResult:
    """POST `body` to `inbox`, signed as the settings and what `domain` accepted (`known`, read
    by the caller) say, knocking a second time with the other scheme when refused (see above)."""
    mode = container.settings.http_signatures
    post = transport(container).post_activity
    if mode != "auto":
        return await post(inbox, body, signer(RFC9421 if mode == RFC9421 else CAVAGE))
    first = known or CAVAGE
    result = await post(inbox, body, signer(first))
    if result.ok:
        if known != first:
            await remember(container, domain, first)
        return result
    if result.status not in KNOCK_AGAIN:
        return result
    second = _other(first)
    again = await post(inbox, body, signer(second))
    if again.ok:
        await remember(container, domain, second)
    return again
