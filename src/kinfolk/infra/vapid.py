"""The server's VAPID key pair (RFC 8292), which signs every Web Push request we send.

Push services bind each subscription to the public key that was advertised when the browser
subscribed, so the key must never change by accident: it comes from the settings when set, or
is generated once and kept in the data directory, like the secret key.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from kinfolk.config import Settings
    from kinfolk.container import Container

KEY_FILE = "vapid_private_key.pem"
EXTRAS_KEY = "vapid_public_key"

_lock = threading.Lock()


def b64url(data: bytes) -> str:
    """base64url without padding, the form browsers and push services take keys in."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_private_key(value: str) -> ec.EllipticCurvePrivateKey:
    """A PEM private key, or the base64url 32-byte scalar that Mastodon's VAPID_PRIVATE_KEY holds."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.encode(), password=None)
    else:
        raw = _b64url_decode(value)
        if len(raw) != 32:
            raise ValueError("a raw VAPID private key must be 32 bytes of base64url")
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the VAPID private key must be an EC P-256 key")
    return key


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_or_create(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read the key file, or create it so that concurrent processes all end up with the same key.

    The key is written to a private temporary file and hard-linked into place: a link never
    replaces an existing file, so whichever process links first wins and the others read its key.
    """
    if path.is_file():
        return parse_private_key(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_pem(key))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return parse_private_key(path.read_text())


@lru_cache(maxsize=16)
def _cached_key(configured: str, path: str) -> ec.EllipticCurvePrivateKey:
    if configured.strip():
        return parse_private_key(configured)
    with _lock:
        return _load_or_create(Path(path))


def vapid_private_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The key that signs Web Push requests (the push sender needs it)."""
    return _cached_key(settings.vapid_private_key, str((settings.data_dir / KEY_FILE).resolve()))


def public_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The 65-byte uncompressed point (0x04 || X || Y) that the Push API calls applicationServerKey."""
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def vapid_public_key(settings: Settings) -> str:
    """The public key as clients expect it in `configuration.vapid.public_key` and `vapid_key`."""
    return b64url(public_key_bytes(vapid_private_key(settings)))


def ensure_vapid_public_key(container: Container) -> str:
    """The public key, kept in `container.extras` so that other endpoints can read it cheaply."""
    value = container.extras.get(EXTRAS_KEY)
    if not isinstance(value, str):
        value = vapid_public_key(container.settings)
        container.extras[EXTRAS_KEY] = value
    return value


def clear_cache() -> None:
    """Forget loaded keys (tests simulating a restart)."""
    _cached_key.cache_clear()
