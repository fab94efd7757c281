"""infra/webpush: keys, sealing, encryption both ways, VAPID signatures, and where we may send."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.jwt import decode as decode_jwt

from kinfolk.config import Settings
from kinfolk.infra import webpush
from kinfolk.infra.vapid import vapid_public_key


def _settings(tmp_path: Path, allowed: str = "") -> Settings:
    return Settings(
        domain="kinfolk.test",
        data_dir=tmp_path,
        secret_key="s",
        allowed_private_addresses=allowed,
        contact_email="",
    )


def _browser() -> tuple[ec.EllipticCurvePrivateKey, bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return key, public, os.urandom(16)


def test_keys_in_either_base64_alphabet() -> None:
    _, public, auth = _browser()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(public).decode()
        assert webpush.parse_p256dh(text) == public
        assert webpush.parse_p256dh(text.rstrip("=")) == public
        assert webpush.parse_auth(encode(auth).decode().rstrip("=")) == auth
    for bad in ("", "###", base64.b64encode(b"\x04" + b"\x00" * 64).decode()):
        with pytest.raises(webpush.InvalidKey):
            webpush.parse_p256dh(bad)
    with pytest.raises(webpush.InvalidKey):
        webpush.parse_auth(base64.b64encode(b"x" * 15).decode())


def test_sealed_tokens_open_only_with_the_same_secret() -> None:
    sealed = webpush.seal("secret", "the token")
    assert "the token" not in sealed
    assert webpush.unseal("secret", sealed) == "the token"
    assert webpush.unseal("other secret", sealed) is None
    assert webpush.unseal("secret", sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")) is None
    assert webpush.unseal("secret", "") is None


@pytest.mark.parametrize("standard", [True, False])
def test_encryption_round_trip(standard: bool) -> None:
    key, public, auth = _browser()
    target = webpush.PushTarget(
        "https://push.example/x", base64.b64encode(public).decode(), base64.b64encode(auth).decode(), standard
    )
    payload = b'{"title": "hello"}' * 50
    body, headers = webpush.encrypt(target, payload)
    if standard:
        assert headers == {"Content-Encoding": "aes128gcm"}
        assert http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm") == payload
    else:
        salt = webpush.decode_key(headers["Encryption"].removeprefix("salt="))
        dh = webpush.decode_key(headers["Crypto-Key"].removeprefix("dh="))
        plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aesgcm", salt=salt, dh=dh)
        assert plain == payload


def test_vapid_headers_verify_against_the_server_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.contact_email = "admin@kinfolk.test"
    server_key = vapid_public_key(settings)
    standard = webpush.vapid_headers(settings, "https://push.example:8443/send/abc", standard=True)
    token = standard["Authorization"].split("t=", 1)[1].split(",", 1)[0]
    claims = decode_jwt(token, server_key)
    assert claims["aud"] == "https://push.example:8443" and claims["sub"] == "mailto:admin@kinfolk.test"
    legacy = webpush.vapid_headers(settings, "https://push.example/x", standard=False, crypto_key="dh=abc")
    assert legacy["Crypto-Key"] == f"dh=abc;p256ecdsa={server_key}"
    assert (
        decode_jwt(legacy["Authorization"].removeprefix("WebPush "), server_key)["aud"]
        == "https://push.example"
    )


def test_addresses_we_may_contact() -> None:
    allowed = Settings(allowed_private_addresses="10.1.0.0/16").allowed_private_networks
    for address in ("93.184.216.34", "2606:4700::1111", "10.1.2.3"):
        assert webpush.address_allowed(address, allowed), address
    for address in (
        "127.0.0.1",
        "10.2.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "::ffff:10.0.0.1",
        "fe80::1%eth0",
        "0.0.0.0",
        "224.0.0.1",
        "nonsense",
    ):
        assert not webpush.address_allowed(address, allowed), address
    with pytest.raises(webpush.DisallowedDestination):
        webpush.check_url("https://[::ffff:127.0.0.1]/push", [])
    with pytest.raises(webpush.DisallowedDestination):
        webpush.check_url("file:///etc/passwd", [])
    webpush.check_url("https://push.example/x", [])


def test_retry_after() -> None:
    assert webpush._retry_after("120") == 120.0
    assert webpush._retry_after(None) is None and webpush._retry_after("soon") is None
    assert webpush._retry_after("999999") == webpush.MAX_RETRY_AFTER
    assert webpush._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


async def test_names_resolving_to_loopback_are_refused_before_connecting(tmp_path: Path) -> None:
    _, public, auth = _browser()
    target = webpush.PushTarget(
        "http://localhost:9/push", base64.b64encode(public).decode(), base64.b64encode(auth).decode(), True
    )
    with pytest.raises(webpush.DisallowedDestination):
        await webpush.send(_settings(tmp_path), target, b"{}")
    with pytest.raises(webpush.DisallowedDestination):
        await webpush.send(
            _settings(tmp_path),
            webpush.PushTarget("http://127.0.0.1:9/x", target.p256dh, target.auth, True),
            b"{}",
        )
