"""RFC 9421 HTTP Message Signatures as the fediverse uses them, beside draft-cavage (`signatures.py`).

A request signed this way carries `Signature-Input` (which components, `keyid`, `created`, ...)
and `Signature`, both Structured Field dictionaries keyed by a label, and pins its body with an
RFC 9530 `Content-Digest: sha-256=:...:`. The parsing, the signature base and the algorithms are
the `http-message-signatures` library's; this module is the fediverse profile around it, in the
same three steps as the cavage module so that the inbox runs both the same way:

1. `check_message`: everything that needs no key: one signature only (Mastodon's rule), an
   algorithm we speak, `@method` and the target (`@target-uri`, or `@authority` with `@path`)
   covered, for a body `content-digest` covered and matching, `created` present and inside the
   same window as cavage's Date. A bad request costs no key fetch.
2. The caller finds the key named by `keyid` (the same lookup, owner checks and budget as cavage).
3. `verify_message`: the signature itself, with an RSA key (`rsa-v1_5-sha256`, or
   `rsa-pss-sha512` when `alg` says so) or an Ed25519 key (`ed25519`).

`sign_message` is the sending side: `@method`, `@target-uri` and, with a body, `content-digest`,
with `created` and `keyid`, signed with the account's RSA key (what Mastodon verifies).

Ed25519 keys are stored and published as FEP-521a Multikeys (`kernel/multikey.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import http_sf
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from kinfolk.federation.signatures import (
    MAX_EXPIRATION_WINDOW,
    MAX_FUTURE,
    MAX_SIGNATURE_LENGTH,
    SignatureError,
    check_window,
    load_private_key,
    load_public_key,
)
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.multikey import ed25519_from_multibase

__all__ = [
    "MessageSignature",
    "check_message",
    "has_message_signature",
    "load_verification_key",
    "sign_message",
    "verify_message",
]

LABEL = "sig1"
ALGORITHMS: dict[str, type[algorithms.HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "ed25519": algorithms.ED25519,
}
# A Signature-Input lists a handful of components; past this it is refused unread.
MAX_COMPONENTS = 32


@dataclass(frozen=True)
class MessageSignature:
    """The one signature of a request, as `check_message` read it (nothing verified yet)."""

    key_id: str
    algorithm: str | None
    created: int
    components: tuple[str, ...]
    expires: int | None = None


# --- the request as the library reads it --------------------------------------------------------


class _Fields:
    """Every header line in order (a multidict's `items()` yields each value), read-only."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._items = list(headers.items())

    def items(self) -> Iterable[tuple[str, str]]:
        return self._items

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(key.lower() == name.lower() for key, _ in self._items)


@dataclass
class _Request:
    method: str
    url: str
    headers: Any = field(default_factory=dict)


class _OneKey(HTTPSignatureKeyResolver):
    """The key the caller already found (fetching is async; the library asks synchronously)."""

    def __init__(self, key_id: str, public_key: Any = None, private_key: Any = None) -> None:
        self.key_id = key_id
        self.public_key = public_key
        self.private_key = private_key

    def resolve_public_key(self, key_id: str) -> Any:
        return self.public_key if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.private_key if key_id == self.key_id else None


# --- checks that need no key --------------------------------------------------------------------


def _index(headers: Mapping[str, str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in headers.items():
        index.setdefault(name.lower(), []).append(value)
    return index


def has_message_signature(headers: Mapping[str, str]) -> bool:
    """Whether the request carries an RFC 9421 signature (a `Signature-Input` header): then it
    is checked as one, whatever else it carries."""
    return any(name.lower() == "signature-input" for name in headers)


def _malformed(detail: str) -> SignatureError:
    return SignatureError(f"Malformed Signature-Input or Signature header: {detail}", 400)


def _dictionary(index: Mapping[str, list[str]], name: str) -> dict[str, Any]:
    values = index.get(name)
    if not values:
        raise SignatureError("Request not signed: Signature-Input without Signature")
    joined = ", ".join(value.strip() for value in values)
    if len(joined) > MAX_SIGNATURE_LENGTH:
        raise _malformed(f"longer than {MAX_SIGNATURE_LENGTH} characters")
    try:
        parsed = http_sf.parse(joined.encode("latin-1"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise _malformed(f"{name} is not a Structured Field dictionary ({exc})") from None
    if not isinstance(parsed, dict):
        raise _malformed(f"{name} is not a Structured Field dictionary")
    return parsed


def check_message(
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    now: datetime | None = None,
) -> MessageSignature:
    """Every check that needs no key, cheapest first; the signature's parameters if all pass."""
    index = _index(headers)
    inputs = _dictionary(index, "signature-input")
    signatures = _dictionary(index, "signature")
    if len(inputs) != 1 or len(signatures) != 1:
        raise SignatureError("Only one signature is supported per request")
    label = next(iter(inputs))
    if label not in signatures:
        raise SignatureError("Signature-Input and Signature name different labels")
    signed, params = inputs[label]
    signature, _ = signatures[label]
    if not isinstance(signed, list) or not isinstance(signature, bytes) or not signature:
        raise _malformed("Signature-Input must be an inner list and Signature a byte sequence")
    if len(signed) > MAX_COMPONENTS:
        raise _malformed("too many covered components")
    components: list[str] = []
    for item, _item_params in signed:
        if not isinstance(item, str):
            raise _malformed("covered components must be strings")
        components.append(item)
    covered = set(components)

    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("Incompatible request signature. keyid is required")
    algorithm = params.get("alg")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise SignatureError("Unsupported signature algorithm")
    created = params.get("created")
    if type(created) is not int:
        raise SignatureError("Signature must have a created parameter")
    expires = params.get("expires")
    if expires is not None and type(expires) is not int:
        raise _malformed("expires is not an integer")

    if "@method" not in covered:
        raise SignatureError("The @method component must be signed")
    if "@target-uri" not in covered and not {"@authority", "@path"} <= covered:
        raise SignatureError("The @target-uri component (or @authority and @path) must be signed")
    if (body or method.upper() == "POST") and "content-digest" not in covered:
        raise SignatureError("The Content-Digest header must be signed when doing a POST request")
    if "content-digest" in covered:
        digest = index.get("content-digest")
        if not digest:
            raise SignatureError("Signed header content-digest is missing from the request")
        try:
            ContentDigest.verify(", ".join(value.strip() for value in digest), body or b"")
        except HTTPMessageSignaturesException as exc:
            raise SignatureError(f"Invalid Content-Digest value: {exc}") from None

    current = now or utcnow()
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    now_ts = current.timestamp()
    check_window(created, now_ts)
    if expires is not None:
        if expires < now_ts:
            raise SignatureError("Signature has expired")
        if expires < created or expires - created > MAX_EXPIRATION_WINDOW.total_seconds():
            raise SignatureError("Signature expiration window is invalid or exceeds 12 hours")
    return MessageSignature(
        key_id=key_id, algorithm=algorithm, created=created, components=tuple(components), expires=expires
    )


# --- keys and verification ----------------------------------------------------------------------


def load_verification_key(text: str) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    """A stored key as the keys module hands it over: an RSA PEM, or an Ed25519 Multikey."""
    if text.startswith("z"):
        try:
            return ed25519_from_multibase(text)
        except ValueError as exc:
            raise SignatureError(f"Invalid public key: {exc}") from None
    return load_public_key(text)


def _algorithm_for(
    algorithm: str | None, key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
) -> type[algorithms.HTTPSignatureAlgorithm]:
    """The `alg` parameter when given (it must suit the key), else what the key type implies:
    RSA signs `rsa-v1_5-sha256` in the fediverse (Mastodon), Ed25519 `ed25519`."""
    is_rsa = isinstance(key, rsa.RSAPublicKey)
    if algorithm is None:
        return algorithms.RSA_V1_5_SHA256 if is_rsa else algorithms.ED25519
    if algorithm.startswith("rsa-") != is_rsa:
        raise SignatureError(f"Key type does not match the signature algorithm {algorithm}")
    return ALGORITHMS[algorithm]


def verify_message(
    signature: MessageSignature,
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: str,
) -> None:
    """Check the signature itself with the key of `signature.key_id` (an RSA PEM or an Ed25519
    Multikey); returns quietly if it holds. `target_uri` is the absolute URL the request was
    sent to (scheme, the Host it named, the path and query as on the wire)."""
    key = load_verification_key(public_key)
    algorithm = _algorithm_for(signature.algorithm, key)
    verifier = HTTPMessageVerifier(signature_algorithm=algorithm, key_resolver=_OneKey(signature.key_id, key))
    # The time window was checked by `check_message` against our own clock rule.
    verifier.max_clock_skew = MAX_FUTURE
    try:
        verifier.verify(
            _Request(method.upper(), target_uri, _Fields(headers)),
            max_age=None,
            body=body if body else None,
        )
    except HTTPMessageSignaturesException as exc:
        reason = str(exc) or "the signature does not match"
        raise SignatureError(
            f"Verification failed for {signature.key_id} using {algorithm.algorithm_id}: {reason}"
        ) from None


# --- signing ------------------------------------------------------------------------------------


def sign_message(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to an outgoing request: `Content-Digest` for a body (and any POST),
    `Signature-Input` and `Signature` over `@method`, `@target-uri` and the digest, with the
    account's RSA key (`rsa-v1_5-sha256`, named by the key, so no `alg`). The URL must be sent
    as given, not re-quoted."""
    key = load_private_key(private_key_pem)
    out: dict[str, str] = {}
    request = _Request(method.upper(), url, out)
    has_body = body is not None or method.upper() == "POST"
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_OneKey(key_id, private_key=key)
    )
    signer.sign(
        request,
        key_id=key_id,
        created=now or utcnow(),
        label=LABEL,
        include_alg=False,
        covered_component_ids=("@method", "@target-uri"),
        body=(body or b"") if has_body else None,
    )
    return out
