"""Sending one Web Push message: encrypted for the browser, signed for the push service.

Encryption is RFC 8291 (`aes128gcm`) for standard subscriptions and the older draft (`aesgcm`,
with `Encryption` and `Crypto-Key` headers) for the others, as Mastodon does; `http_ece` does the
cryptography and `py_vapid` signs the RFC 8292 JWT with the server's VAPID key. The HTTP request
goes out through aiohttp, and never to a private, loopback or link-local address unless the
operator allowed it (`KINFOLK_ALLOWED_PRIVATE_ADDRESSES`): the endpoint is chosen by the client,
so without that check anyone could make the server POST into its own network.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_vapid import Vapid01, Vapid02

from kinfolk.config import Settings
from kinfolk.infra.outbound import (
    DisallowedDestination,
    address_allowed,
    check_url,
    disallowed_cause,
    guarded_session,
)
from kinfolk.infra.vapid import b64url, vapid_private_key

__all__ = ["DisallowedDestination", "address_allowed", "check_url"]

# Mastodon keeps undelivered pushes for two days and asks for normal urgency.
TTL_SECONDS = 48 * 3600
URGENCY = "normal"
# RFC 8292: a JWT may be valid for at most 24 hours; 12 leaves room for clock skew.
JWT_LIFETIME = 12 * 3600
TIMEOUT_SECONDS = 15.0
MAX_RETRY_AFTER = 6 * 3600.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidKey(ValueError):
    """A subscription key that is not base64, or not a P-256 point / 16-byte secret."""


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str
    standard: bool


@dataclass(frozen=True)
class PushResult:
    status: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The push service rejected the subscription itself: it will never work again.

        Mastodon drops a subscription on any 4xx except timeouts and rate limits.
        """
        return 400 <= self.status < 500 and self.status not in (408, 429)


# -- keys ---------------------------------------------------------------------------------


def decode_key(value: str) -> bytes:
    """Browsers give keys in base64url; some clients send standard base64. Both, padded or not."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("not base64") from exc


def parse_p256dh(value: str) -> bytes:
    """The user agent's public key as the 65-byte uncompressed point; InvalidKey otherwise."""
    raw = decode_key(value)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidKey("not a P-256 public key") from exc
    return raw


def parse_auth(value: str) -> bytes:
    raw = decode_key(value)
    if len(raw) != 16:
        raise InvalidKey("the auth secret must be 16 bytes")
    return raw


# -- sealing the access token -----------------------------------------------------------------


def _sealing_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kinfolk web push token").derive(
        secret_key.encode("utf-8")
    )


def seal(secret_key: str, plaintext: str) -> str:
    """AES-GCM under a key derived from the server secret; the result is base64url text."""
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key(secret_key)).encrypt(nonce, plaintext.encode("utf-8"), None)
    return b64url(nonce + sealed)


def unseal(secret_key: str, sealed: str) -> str | None:
    """The plaintext, or None if the secret changed or the value was tampered with."""
    try:
        raw = decode_key(sealed)
        return AESGCM(_sealing_key(secret_key)).decrypt(raw[:12], raw[12:], None).decode("utf-8")
    except Exception:
        return None


# -- encryption and signing -------------------------------------------------------------------


def encrypt(target: PushTarget, payload: bytes) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and the encryption headers, for the subscription's flavour."""
    ua_public = parse_p256dh(target.p256dh)
    auth = parse_auth(target.auth)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(16)
    if target.standard:
        body = http_ece.encrypt(
            payload, salt=salt, private_key=ephemeral, dh=ua_public, auth_secret=auth, version="aes128gcm"
        )
        return body, {"Content-Encoding": "aes128gcm"}
    body = http_ece.encrypt(
        payload, salt=salt, private_key=ephemeral, dh=ua_public, auth_secret=auth, version="aesgcm"
    )
    server_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return body, {
        "Content-Encoding": "aesgcm",
        "Encryption": f"salt={b64url(salt)}",
        "Crypto-Key": f"dh={b64url(server_public)}",
    }


def _subject(settings: Settings) -> str:
    return f"mailto:{settings.contact_email}" if settings.contact_email else settings.base_url


def vapid_headers(
    settings: Settings, endpoint: str, *, standard: bool, crypto_key: str | None = None
) -> dict[str, str]:
    """`Authorization` (and, for the legacy flavour, `Crypto-Key` with our public key)."""
    parts = urlsplit(endpoint)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + JWT_LIFETIME,
        "sub": _subject(settings),
    }
    key = vapid_private_key(settings)
    # "no-strict": our subject may be an http:// base URL in development.
    signer = Vapid02(key, conf={"no-strict": True}) if standard else Vapid01(key, conf={"no-strict": True})
    headers: dict[str, str] = signer.sign(claims, crypto_key=crypto_key)
    return headers


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value.strip())))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - time.time()))


async def send(settings: Settings, target: PushTarget, payload: bytes) -> PushResult:
    """Encrypt, sign and POST one message; DisallowedDestination if the endpoint is off limits."""
    check_url(target.endpoint, settings.allowed_private_networks)
    body, headers = encrypt(target, payload)
    auth = vapid_headers(
        settings, target.endpoint, standard=target.standard, crypto_key=headers.pop("Crypto-Key", None)
    )
    headers.update(auth)
    headers.update(
        {
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_SECONDS),
            "Urgency": URGENCY,
        }
    )
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with guarded_session(settings, timeout, limit=1) as session:
        try:
            request = session.post(target.endpoint, data=body, headers=headers, allow_redirects=False)
            async with request as resp:
                await resp.read()
                return PushResult(resp.status, _retry_after(resp.headers.get("Retry-After")))
        except aiohttp.ClientConnectorError as exc:
            refused = disallowed_cause(exc)
            if refused is not None:
                raise refused from exc
            raise
