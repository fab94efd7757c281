"""Ed25519 keys as FEP-521a Multikeys: `publicKeyMultibase` is "z" (base58btc) and the base58
text of the multicodec prefix `ed25519-pub` (0xed 0x01) followed by the 32 key bytes ("z6Mk...").

Kept in the kernel because both the accounts domain (which makes each local account's keys) and
federation (which publishes and verifies them) use it; it is pure and needs no other module.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ED25519_PUB = b"\xed\x01"
# The longest Multikey text accepted (an Ed25519 one is 48 characters).
MAX_MULTIBASE_LENGTH = 128
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: i for i, char in enumerate(_BASE58)}


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        out.append(_BASE58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            raise ValueError("not base58btc")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def ed25519_multibase(key: ed25519.Ed25519PublicKey) -> str:
    """The `publicKeyMultibase` of an Ed25519 public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58_encode(ED25519_PUB + raw)


@lru_cache(maxsize=1024)
def ed25519_from_multibase(text: str) -> ed25519.Ed25519PublicKey:
    """The Ed25519 public key of a Multikey text; ValueError for anything else."""
    if len(text) > MAX_MULTIBASE_LENGTH or not text.startswith("z"):
        raise ValueError("not a base58btc Multikey")
    data = base58_decode(text[1:])
    if not data.startswith(ED25519_PUB) or len(data) != len(ED25519_PUB) + 32:
        raise ValueError("not an Ed25519 Multikey")
    return ed25519.Ed25519PublicKey.from_public_bytes(data[len(ED25519_PUB) :])


def is_ed25519_multibase(text: str) -> bool:
    try:
        ed25519_from_multibase(text)
    except ValueError:
        return False
    return True


def generate_ed25519_key() -> tuple[str, str]:
    """A new Ed25519 key: (private PKCS#8 PEM, public Multikey)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return private_pem, ed25519_multibase(key.public_key())
