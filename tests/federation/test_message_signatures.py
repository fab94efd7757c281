"""RFC 9421 HTTP Message Signatures: the RFC's own test vectors (Appendix B.2.1, RSA-PSS, and
B.2.6, Ed25519), the key-free checks, the inbox (RSA and FEP-521a Ed25519 keys, same refusals as
cavage with nothing stored), and double-knocking remembered per host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageSigner, algorithms
from sqlalchemy import select

from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.federation import knock
from kinfolk.federation.message_signatures import (
    MessageSignature,
    _OneKey,
    _Request,
    check_message,
    sign_message,
    verify_message,
)
from kinfolk.federation.models import SignatureHost
from kinfolk.federation.service import CAVAGE, RFC9421, account_signer
from kinfolk.federation.signatures import SignatureError, check_request
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.multikey import base58_decode, ed25519_from_multibase, ed25519_multibase
from tests.conftest import TEST_DOMAIN
from tests.federation.inbox_support import (
    AP,
    Remote,
    RemoteActor,
    activity,
    jobs_of,
    key_pair,
    post,
    remote,
    settings,
    stored,
)

__all__ = ["remote", "settings"]  # fixtures

# --- RFC 9421 Appendix B ------------------------------------------------------------------------

RSA_PSS_PUBLIC = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
"""
ED25519_PRIVATE = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
ED25519_PUBLIC = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
TEST_URL = "https://example.com/foo?param=Value&Pet=dog"
TEST_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
    "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    "Content-Length": "18",
}
TEST_BODY = b'{"hello": "world"}'
B21_INPUT = 'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"'
B21_SIGNATURE = (
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8"
    "Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKh"
    "O4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5"
    "/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"
)
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)


def _ed25519_multibase_of(pem: str) -> str:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, ed25519.Ed25519PublicKey)
    return ed25519_multibase(key)


def test_rfc_vector_b21_rsa_pss_sha512() -> None:
    headers = {**TEST_HEADERS, "Signature-Input": B21_INPUT, "Signature": B21_SIGNATURE}
    # B.2.1 names no `alg`: the verifier knows the key is an RSA-PSS one.
    signature = MessageSignature("test-key-rsa-pss", "rsa-pss-sha512", 1618884473, ())
    verify_message(signature, "POST", TEST_URL, headers, None, RSA_PSS_PUBLIC)
    # The same signature read as PKCS#1 v1.5, or over other parameters, does not hold.
    with pytest.raises(SignatureError, match="Verification failed"):
        verify_message(
            MessageSignature("test-key-rsa-pss", None, 1618884473, ()),
            "POST",
            TEST_URL,
            headers,
            None,
            RSA_PSS_PUBLIC,
        )
    tampered = {**headers, "Signature-Input": B21_INPUT.replace("1618884473", "1618884474")}
    with pytest.raises(SignatureError, match="Verification failed"):
        verify_message(signature, "POST", TEST_URL, tampered, None, RSA_PSS_PUBLIC)


def test_rfc_vector_b26_ed25519_as_a_multikey() -> None:
    multibase = _ed25519_multibase_of(ED25519_PUBLIC)
    assert multibase.startswith("z6Mk") and base58_decode(multibase[1:])[:2] == b"\xed\x01"
    assert ed25519_from_multibase(multibase).public_bytes_raw() == base58_decode(multibase[1:])[2:]
    headers = {**TEST_HEADERS, "Signature-Input": B26_INPUT, "Signature": B26_SIGNATURE}
    signature = MessageSignature("test-key-ed25519", None, 1618884473, ())
    verify_message(signature, "POST", TEST_URL, headers, None, multibase)  # the key type decides: ed25519
    with pytest.raises(SignatureError, match="Verification failed"):  # another path
        verify_message(
            signature, "POST", "https://example.com/bar?param=Value&Pet=dog", headers, None, multibase
        )
    with pytest.raises(SignatureError, match="Key type does not match"):
        verify_message(
            MessageSignature("test-key-ed25519", "rsa-v1_5-sha256", 1618884473, ()),
            "POST",
            TEST_URL,
            headers,
            None,
            multibase,
        )
    # Ed25519 is deterministic: the library signing with the RFC's private key gives the RFC's bytes.
    private = serialization.load_pem_private_key(ED25519_PRIVATE.encode(), password=None)
    request = _Request("POST", TEST_URL, dict(TEST_HEADERS))
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_OneKey("test-key-ed25519", private_key=private)
    ).sign(
        request,
        key_id="test-key-ed25519",
        created=utcnow().replace(year=2021, month=4, day=20, hour=2, minute=7, second=53, microsecond=0),
        label="sig-b26",
        include_alg=False,
        covered_component_ids=("date", "@method", "@path", "@authority", "content-type", "content-length"),
        use_existing_digest=True,
    )
    assert request.headers["Signature"] == B26_SIGNATURE


# --- key-free checks ----------------------------------------------------------------------------

URL = f"https://{TEST_DOMAIN}/inbox"


def _signed(body: bytes, url: str = URL, **kwargs: Any) -> dict[str, str]:
    private, _ = key_pair(0)
    return {
        "Host": TEST_DOMAIN,
        **sign_message("POST", url, {}, body, key_id="https://r.test/k", private_key_pem=private, **kwargs),
    }


def test_key_free_checks() -> None:
    body = b'{"a": 1}'
    headers = _signed(body)
    found = check_message("POST", headers, body)
    assert found.key_id == "https://r.test/k" and found.components == (
        "@method",
        "@target-uri",
        "content-digest",
    )
    with pytest.raises(SignatureError, match="Content-Digest"):  # the body changed on the way
        check_message("POST", headers, b'{"a": 2}')
    with pytest.raises(SignatureError, match="outside acceptable time window"):  # replayed later
        check_message("POST", headers, body, now=utcnow() + timedelta(hours=2))
    with pytest.raises(SignatureError, match="outside acceptable time window"):  # from the future
        check_message("POST", _signed(body, now=utcnow() + timedelta(minutes=30)), body)
    no_method = {**headers, "Signature-Input": headers["Signature-Input"].replace('"@method" ', "")}
    with pytest.raises(SignatureError, match="@method"):
        check_message("POST", no_method, body)
    two = {
        **headers,
        "Signature-Input": headers["Signature-Input"]
        + ", "
        + headers["Signature-Input"].replace("sig1", "sig2"),
    }
    with pytest.raises(SignatureError, match="Only one signature"):
        check_message("POST", two, body)
    with pytest.raises(SignatureError) as malformed:
        check_message("POST", {**headers, "Signature": "not a dictionary ("}, body)
    assert malformed.value.status == 400


# --- the inbox ------------------------------------------------------------------------------------


class EdActor(RemoteActor):
    """A remote actor that also publishes an Ed25519 `assertionMethod` key."""

    ed_key: ed25519.Ed25519PrivateKey = ed25519.Ed25519PrivateKey.generate()

    @property
    def ed_key_id(self) -> str:
        return f"{self.uri}#ed25519-key"

    def document(self) -> dict[str, Any]:
        return {
            **super().document(),
            "assertionMethod": [
                {
                    "id": self.ed_key_id,
                    "type": "Multikey",
                    "controller": self.uri,
                    "publicKeyMultibase": ed25519_multibase(self.ed_key.public_key()),
                }
            ],
        }


def _ed_signed(actor: EdActor, body: bytes, url: str = URL) -> dict[str, str]:
    request = _Request("POST", url, {"Content-Type": AP})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_OneKey(actor.ed_key_id, private_key=actor.ed_key),
    )
    signer.sign(
        request,
        key_id=actor.ed_key_id,
        label="sig1",
        include_alg=False,
        covered_component_ids=("@method", "@target-uri"),
        body=body,
    )
    return dict(request.headers)


def _rsa_signed(
    actor: RemoteActor, body: bytes, url: str = URL, private: str | None = None, **kwargs: Any
) -> dict[str, str]:
    headers = sign_message(
        "POST", url, {}, body, key_id=actor.key_id, private_key_pem=private or actor.private_pem, **kwargs
    )
    return {"Content-Type": AP, **headers}


def _follow(actor: RemoteActor, number: int = 1) -> bytes:
    return orjson.dumps(activity(actor, "Follow", f"https://{TEST_DOMAIN}/users/alice", number=number))


async def _refused(
    client: Any, container: Container, body: bytes, headers: dict[str, str], reason: str, path: str = "/inbox"
) -> None:
    before = await stored(container)
    response = await post(client, body, headers, path)
    assert response.status_code == 401, response.text
    assert reason.lower() in response.json()["error"].lower(), response.text
    assert await stored(container) == before


async def test_inbox_accepts_rfc9421_with_rsa_and_refuses_what_cavage_refuses(
    client, container, make_user, remote: Remote
) -> None:
    await make_user("alice")
    eve = remote.actor("eve")
    body = _follow(eve)
    # Tampered body: the Content-Digest no longer matches; refused before any key fetch.
    await _refused(client, container, _follow(eve, 2), _rsa_signed(eve, body), "Content-Digest")
    # Stale: created two hours ago.
    await _refused(
        client, container, body, _rsa_signed(eve, body, now=utcnow() - timedelta(hours=2)), "time window"
    )
    assert remote.fetches == []
    # Wrong key: signed with another private key than the one eve's actor publishes.
    other_private, _ = key_pair(1)
    await _refused(
        client, container, body, _rsa_signed(eve, body, private=other_private), "Verification failed"
    )
    # Replayed to another inbox: the signature names /inbox.
    await _refused(
        client, container, body, _rsa_signed(eve, body), "Verification failed", "/users/alice/inbox"
    )
    # The good one.
    response = await post(client, body, _rsa_signed(eve, body))
    assert response.status_code == 202, response.text
    assert len(await jobs_of(container, "federation.ingress")) == 1
    # Both kinds on one request: RFC 9421 decides (a broken cavage signature beside it is ignored,
    # and a good cavage signature does not save a broken RFC 9421 one).
    second = _follow(eve, 3)
    both = {**_rsa_signed(eve, second), "Authorization": 'Signature keyId="x",signature="AAAA"'}
    assert (await post(client, second, both)).status_code == 202


async def test_inbox_accepts_an_ed25519_signature_by_the_actors_assertion_method_key(
    client, container, make_user, remote: Remote
) -> None:
    await make_user("alice")
    private, public = key_pair(0)
    mallory = EdActor("remote.test", remote.port, "mallory", private, public)
    remote.actors[("remote.test", "mallory")] = mallory
    body = _follow(mallory)
    response = await post(client, body, _ed_signed(mallory, body))
    assert response.status_code == 202, response.text
    async with container.db.uow(write=False) as uow:
        account = (await uow.session.execute(select(Account).where(Account.uri == mallory.uri))).scalar_one()
    assert account.ed25519_key_id == mallory.ed_key_id
    assert account.ed25519_public_key == ed25519_multibase(mallory.ed_key.public_key())
    # Stored now: the next one needs no fetch; one for another path does not verify.
    fetches = len(remote.fetches)
    again = _follow(mallory, 2)
    assert (await post(client, again, _ed_signed(mallory, again))).status_code == 202
    assert len(remote.fetches) == fetches
    await _refused(
        client, container, again, _ed_signed(mallory, again), "Verification failed", "/users/alice/inbox"
    )
    assert len(remote.fetches) <= fetches + 1  # at most the one refetch for a rotated key


async def test_local_actor_publishes_its_ed25519_multikey(client, make_user) -> None:
    await make_user("alice")
    response = await client.get("/users/alice", headers={"Accept": AP})
    actor = response.json()
    [key] = actor["assertionMethod"]
    assert key["id"] == f"https://{TEST_DOMAIN}/users/alice#ed25519-key"
    assert key["type"] == "Multikey" and key["controller"] == actor["id"]
    assert ed25519_from_multibase(key["publicKeyMultibase"])  # a valid Ed25519 Multikey
    assert "https://w3id.org/security/multikey/v1" in actor["@context"]


# --- double-knocking ------------------------------------------------------------------------------


class Inboxes:
    """Two inboxes on remote.test and other.test: one takes only RFC 9421, the other only cavage
    (each checks the key-free part of the kind it takes, as a real server would first)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        host = request.host.split(":")[0]
        kind = "rfc9421" if "Signature-Input" in request.headers else "cavage"
        self.seen.append((host, kind))
        try:
            if host == "remote.test":
                check_message("POST", request.headers, body)
            else:
                check_request("POST", request.raw_path, request.headers, body)
        except SignatureError as exc:
            return web.json_response({"error": exc.reason}, status=401)
        return web.Response(status=202)


@pytest.fixture
async def inboxes() -> AsyncIterator[tuple[Inboxes, int]]:
    app = web.Application()
    server = Inboxes()
    app.router.add_post("/inbox", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield server, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def _remembered(container: Container) -> dict[str, str]:
    async with container.db.uow(write=False) as uow:
        rows = (await uow.session.execute(select(SignatureHost))).scalars()
        return {row.domain: row.scheme for row in rows}


async def test_double_knock_is_remembered_per_host(container, make_user, inboxes) -> None:
    server, port = inboxes
    await make_user("alice")
    async with container.db.uow(write=False) as uow:
        alice = (await uow.session.execute(select(Account).where(Account.username == "alice"))).scalar_one()

    def signer(scheme: Any) -> Any:
        return account_signer(alice, container.uris, scheme)

    async def deliver(host: str) -> int | None:
        async with container.db.uow(write=False) as uow:
            known = await knock.remembered(uow.session, host)
        result = await knock.post_signed(container, f"http://{host}:{port}/inbox", b"{}", signer, host, known)
        return result.status

    # A 9421-only host: cavage first (as Mastodon), refused, then RFC 9421, remembered.
    assert await deliver("remote.test") == 202
    assert server.seen == [("remote.test", "cavage"), ("remote.test", "rfc9421")]
    # A cavage-only host: one knock.
    assert await deliver("other.test") == 202
    assert server.seen[2:] == [("other.test", "cavage")]
    assert await _remembered(container) == {"remote.test": RFC9421, "other.test": CAVAGE}
    # Remembered: the next deliveries knock once each, the right way first.
    del server.seen[:]
    assert await deliver("remote.test") == 202
    assert await deliver("other.test") == 202
    assert server.seen == [("remote.test", "rfc9421"), ("other.test", "cavage")]
