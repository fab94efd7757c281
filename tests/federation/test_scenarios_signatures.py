"""HTTP signatures between three real servers: alpha signs and accepts only RFC 9421, beta only
draft-cavage, gamma both (`KINFOLK_HTTP_SIGNATURES`: rfc9421, cavage, auto).

People on alpha and on beta follow someone on gamma: their Follows reach gamma (one signed each
way), and gamma's Accepts and posts reach them both. gamma knocks on alpha with cavage first (as
Mastodon), is refused, knocks again with RFC 9421, and remembers per host which kind worked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from kinfolk.db.database import Database
from kinfolk.federation.models import SignatureHost
from tests.federation.harness import Federation, Server, sqlite_databases, wait_until
from tests.federation.independent import PEER
from tests.federation.social import follow, wait_in_home


@pytest.fixture(scope="module")
def mixed(
    request: pytest.FixtureRequest, federation_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    base = tmp_path_factory.mktemp("signatures")
    if federation_backend == "sqlite":
        databases = sqlite_databases(request.getfixturevalue("federation_sqlite_template"), base)
    else:
        databases = request.getfixturevalue("federation_pg")
    federation = Federation(base, ["alpha", "beta", "gamma"], databases, peers=[f"{PEER}.test"])
    federation["alpha"].extra_env["KINFOLK_HTTP_SIGNATURES"] = "rfc9421"
    federation["beta"].extra_env["KINFOLK_HTTP_SIGNATURES"] = "cavage"
    try:
        federation.start()
        yield federation
    finally:
        federation.close()


def remembered(server: Server) -> dict[str, str]:
    """The server's `signature_hosts`, read from its database."""

    async def read() -> dict[str, str]:
        db = Database(server.database_url, pool_size=1, checkpoints=False)
        try:
            async with db.uow(write=False) as uow:
                rows = await uow.session.execute(select(SignatureHost.domain, SignatureHost.scheme))
                return {domain: scheme for domain, scheme in rows}
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_a_9421_only_and_a_cavage_only_server_both_talk_to_us(mixed: Federation) -> None:
    carol = mixed["gamma"].create_user("carol_sig")
    alice = mixed["alpha"].create_user("alice_sig")  # RFC 9421 only
    bob = mixed["beta"].create_user("bob_sig")  # cavage only

    # Each Follow reaches gamma signed the one way its server knows, and each Accept comes back.
    follow(alice, carol)
    follow(bob, carol)
    assert remembered(mixed["gamma"]) == {"alpha.test": "rfc9421", "beta.test": "cavage"}

    # gamma's post reaches both, each signed the way remembered for its host.
    status = carol.api.status_post("Hello to both kinds of signature")
    wait_in_home(alice, status["uri"])
    wait_in_home(bob, status["uri"])

    # And they answer back: a reply from each reaches gamma.
    alice_reply = alice.api.status_post("9421 here", in_reply_to_id=_local_id(alice, status["uri"]))
    bob_reply = bob.api.status_post("cavage here", in_reply_to_id=_local_id(bob, status["uri"]))
    wait_until(
        lambda: (
            {s["uri"] for s in carol.api.status_context(status["id"])["descendants"]}
            >= {alice_reply["uri"], bob_reply["uri"]}
        ),
        what="both replies on gamma",
    )
    assert remembered(mixed["gamma"]) == {"alpha.test": "rfc9421", "beta.test": "cavage"}


def _local_id(user, uri: str):  # type: ignore[no-untyped-def]
    for status in user.api.timeline_home(limit=40):
        if status["uri"] == uri:
            return status["id"]
    raise AssertionError(f"{uri} not in {user.acct}'s home")
