"""HTTP signatures (draft-cavage-http-signatures-12) as the fediverse uses them.

Every server that talks to Mastodon signs its requests the same way: RSASSA-PKCS1-v1_5 with SHA-256
over a few headers, sent as `algorithm="rsa-sha256"` (or `hs2019`, the twelfth draft's name that
means "look at the key"), with the body pinned by a `Digest: SHA-256=...` header. This module is
that profile and nothing more, in three steps that the inbox runs in order:

1. `check_request`: everything that needs no key (the header parses, the algorithm is one we
   speak, the right headers are signed, the Digest matches the body, the dates are fresh). It runs
   before any key is fetched, so a malformed or replayed request never costs a fetch.
2. The caller finds the public key named by `SignatureParams.key_id` (outside this module: no
   network here).
3. `verify`: rebuilds the signing string exactly as the draft says and checks it with that key.

`sign_request` is the other side, for the transport: the headers to add to an outgoing request.

Header mappings may be plain dicts in any case or multidicts (Starlette's `Headers`, aiohttp's
`CIMultiDict`): names are compared lower-cased, and several values of one header are joined with
", " as the draft says. Every failure is a `SignatureError` with a reason in English (close to
Mastodon's, so remote admins recognise them) and an HTTP status: 400 for a header that does not
parse, 401 for everything else. Work is linear in the size of the headers, and a Signature value
over `MAX_SIGNATURE_LENGTH` is refused before it is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kinfolk.kernel.clock import utcnow

__all__ = [
    "SignatureError",
    "SignatureParams",
    "body_digest",
    "build_signing_string",
    "check_request",
    "check_window",
    "generate_key_pair",
    "http_date",
    "load_private_key",
    "load_public_key",
    "parse_signature",
    "sign_headers",
    "sign_request",
    "verify",
]

# A real Signature header is a few hundred bytes (a 4096-bit RSA signature is 684 base64
# characters); anything past this is refused unread.
MAX_SIGNATURE_LENGTH = 8 * 1024
# A PEM public key of 8192 bits is under 1.5 KB; the cap keeps the key cache's memory bounded.
MAX_PUBLIC_KEY_PEM_LENGTH = 16 * 1024

SUPPORTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
# How far a signed Date (or `created`) may lie behind or ahead of our clock. Mastodon takes
# `created` + 5 minutes as the expiry and allows an hour of skew on top; we accept an hour back
# and a little skew ahead, which refuses replays older than an hour and dates from the future.
MAX_PAST = timedelta(hours=1)
MAX_FUTURE = timedelta(minutes=5)
# The longest `expires - created` a signature may claim (Mastodon's limit), so a leaked signed
# request can't be replayed for days.
MAX_EXPIRATION_WINDOW = timedelta(hours=12)

SIGNING_ALGORITHM = "rsa-sha256"  # what Mastodon sends, so what every receiver accepts

_PSEUDO_HEADERS = frozenset({"(request-target)", "(created)", "(expires)"})
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_-]+")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TOKEN_END = re.compile(r"[\s,\"]")
_WHITESPACE = " \t"


class SignatureError(Exception):
    """A request whose signature can't be accepted; `reason` says why, `status` is the HTTP answer."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of one Signature header, decoded (the signature as bytes)."""

    key_id: str
    algorithm: str | None
    headers: list[str]
    signature: bytes
    created: int | None = None
    expires: int | None = None


def body_digest(body: bytes) -> str:
    """The Digest header value for a body: `SHA-256=<base64>`."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


# --- parsing ---------------------------------------------------------------------------------


def _malformed(detail: str) -> SignatureError:
    return SignatureError(f"Malformed Signature header: {detail}", 400)


def _split_params(value: str) -> dict[str, str]:
    """`name="value", name=token, ...` into a dict, in one pass over the text.

    Tolerant of spaces and tabs around names, `=` and commas, and of empty list elements (RFC 7230
    `#rule`); strict about everything that would make two readers disagree: a duplicate name, an
    unterminated quoted string, text between a value and the next comma.
    """
    params: dict[str, str] = {}
    i, n = 0, len(value)
    while True:
        while i < n and (value[i] in _WHITESPACE or value[i] == ","):
            i += 1
        if i >= n:
            return params
        match = _PARAM_NAME.match(value, i)
        if match is None:
            raise _malformed(f"unexpected character {value[i]!r} at {i}")
        name = match.group().lower()
        i = match.end()
        while i < n and value[i] in _WHITESPACE:
            i += 1
        if i >= n or value[i] != "=":
            raise _malformed(f"parameter {name} has no value")
        i += 1
        while i < n and value[i] in _WHITESPACE:
            i += 1
        if i < n and value[i] == '"':
            i += 1
            chunks: list[str] = []
            start = i
            while True:
                if i >= n:
                    raise _malformed(f"unbalanced quotes in parameter {name}")
                char = value[i]
                if char == '"':
                    chunks.append(value[start:i])
                    i += 1
                    break
                if char == "\\":  # RFC 7230 quoted-pair
                    if i + 1 >= n:
                        raise _malformed(f"unbalanced quotes in parameter {name}")
                    chunks.append(value[start:i])
                    chunks.append(value[i + 1])
                    i += 2
                    start = i
                    continue
                i += 1
            text = "".join(chunks)
        else:
            end = _TOKEN_END.search(value, i)
            stop = n if end is None else end.start()
            if stop < n and value[stop] == '"':
                raise _malformed(f"unbalanced quotes in parameter {name}")
            text = value[i:stop]
            i = stop
        if name in params:
            raise _malformed(f"duplicate parameter {name}")
        params[name] = text
        while i < n and value[i] in _WHITESPACE:
            i += 1
        if i < n and value[i] != ",":
            raise _malformed(f"unexpected character {value[i]!r} at {i}")


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if _TIMESTAMP.fullmatch(raw) is None:
        raise _malformed(f"{name} is not a Unix timestamp")
    return int(raw)


def parse_signature(value: str) -> SignatureParams:
    """Decode a Signature header value (or what follows `Signature ` in Authorization)."""
    if len(value) > MAX_SIGNATURE_LENGTH:
        raise _malformed(f"longer than {MAX_SIGNATURE_LENGTH} characters")
    params = _split_params(value)
    key_id = params.get("keyid", "")
    encoded = params.get("signature", "")
    if not key_id or not encoded:
        raise SignatureError("Incompatible request signature. keyId and signature are required")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("signature is not valid base64") from None
    if not signature:
        raise _malformed("signature is empty")
    # The draft's default list: only the Date header (Mastodon's too).
    headers = params.get("headers", "date").lower().split()
    if not headers:
        raise _malformed("the headers parameter is empty")
    for name in headers:
        if name not in _PSEUDO_HEADERS and _HEADER_NAME.fullmatch(name) is None:
            raise _malformed(f"invalid header name {name[:64]!r}")
    algorithm = params.get("algorithm")
    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm.lower() if algorithm is not None else None,
        headers=headers,
        signature=signature,
        created=_timestamp(params, "created"),
        expires=_timestamp(params, "expires"),
    )


# --- headers ---------------------------------------------------------------------------------


def _index(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Lower-cased name -> every value, in order. `items()` of a multidict yields each value."""
    index: dict[str, list[str]] = {}
    for name, value in headers.items():
        index.setdefault(name.lower(), []).append(value)
    return index


def _joined(index: Mapping[str, list[str]], name: str) -> str | None:
    values = index.get(name)
    if values is None:
        return None
    return ", ".join(value.strip() for value in values)


def _signature_value(index: Mapping[str, list[str]]) -> str:
    signatures = index.get("signature")
    if signatures:
        if len(signatures) > 1:
            raise _malformed("more than one Signature header")
        return signatures[0]
    for value in index.get("authorization", ()):
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() == "signature":
            return rest
    raise SignatureError("Request not signed")


def build_signing_string(
    signed_headers: Sequence[str],
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    *,
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The text that is signed: one `name: value` line per signed header, in the listed order.

    `path_and_query` is the request target as sent on the wire (still percent-encoded), since that
    is what the signer saw.
    """
    index = _index(headers)
    lines: list[str] = []
    for name in signed_headers:
        name = name.lower()
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path_and_query}")
        elif name == "(created)":
            if created is None:
                raise SignatureError("Signature has no created parameter but (created) is signed")
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            if expires is None:
                raise SignatureError("Signature has no expires parameter but (expires) is signed")
            lines.append(f"(expires): {expires}")
        else:
            value = _joined(index, name)
            if value is None:
                raise SignatureError(f"Signed header {name} is missing from the request")
            if "\n" in value or "\r" in value:
                raise SignatureError(f"Invalid value for signed header {name}", 400)
            lines.append(f"{name}: {value}")
    if any("\n" in part or "\r" in part for part in (method, path_and_query)):
        raise SignatureError("Invalid request target", 400)
    return "\n".join(lines)


def _encode(signing_string: str) -> bytes:
    """The bytes that were signed: Starlette decodes header bytes as latin-1, so encoding them the
    same way gives back what was on the wire; text beyond latin-1 can only come from a Python
    caller, and goes as UTF-8."""
    try:
        return signing_string.encode("latin-1")
    except UnicodeEncodeError:
        return signing_string.encode("utf-8")


# --- checks that need no key -----------------------------------------------------------------


def _check_digest(value: str, body: bytes) -> None:
    offered: list[str] = []
    given_sha256: list[str] = []
    for entry in value.split(","):
        algorithm, sep, encoded = entry.strip().partition("=")
        if not algorithm:
            continue
        offered.append(algorithm.strip())
        if sep and algorithm.strip().lower() == "sha-256":
            given_sha256.append(encoded.strip())
    if not given_sha256:
        names = ", ".join(offered)[:200]
        raise SignatureError(f"Unsupported Digest algorithm: SHA-256 is required. Offered: {names}")
    computed = hashlib.sha256(body).digest()
    computed_text = base64.b64encode(computed).decode("ascii")
    for encoded in given_sha256:
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(
                "Invalid Digest value. The provided Digest value is not a valid base64 string"
            ) from None
        if len(given) != 32:
            raise SignatureError("Invalid Digest value. The provided Digest value is not a SHA-256 digest")
        if not hmac.compare_digest(given, computed):
            raise SignatureError(
                f"Invalid Digest value. Computed SHA-256 digest: {computed_text}; given: {encoded[:100]}"
            )


def _parse_http_date(value: str) -> datetime:
    """An HTTP date (RFC 7231: IMF-fixdate, and the obsolete forms senders still use)."""
    try:
        if len(value) > 64:
            raise ValueError("too long")
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise SignatureError(f"Invalid Date header: {value[:64]!r} ({exc})") from None
    if parsed.tzinfo is None:  # "-0000": UTC with no offset information
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def check_window(moment: float, now: float) -> None:
    """A signed moment (Date, `created`) within the window we accept; shared with RFC 9421."""
    if moment < now - MAX_PAST.total_seconds() or moment > now + MAX_FUTURE.total_seconds():
        raise SignatureError("Signed request date outside acceptable time window")


def check_request(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    now: datetime | None = None,
) -> SignatureParams:
    """Every check that needs no key, cheapest first; the parsed signature if all pass.

    The caller then fetches the key named by `key_id` and calls `verify`.
    """
    index = _index(headers)
    params = parse_signature(_signature_value(index))
    signed = set(params.headers)

    algorithm = params.algorithm
    if algorithm is not None and algorithm not in SUPPORTED_ALGORITHMS:
        raise SignatureError("Unsupported signature algorithm")
    if algorithm == "rsa-sha256":
        for pseudo in ("(created)", "(expires)"):
            if pseudo in signed:
                raise SignatureError(f"Invalid pseudo-header {pseudo} for rsa-sha256")

    if "(request-target)" not in signed:
        raise SignatureError("The (request-target) pseudo-header must be signed")
    if "host" not in signed:
        raise SignatureError("The Host header must be signed")
    if "date" not in signed and "(created)" not in signed:
        raise SignatureError("The Date header or the (created) pseudo-header must be signed")
    if method.upper() == "POST" and "digest" not in signed:
        raise SignatureError("Mastodon requires the Digest header to be signed when doing a POST request")
    for name in params.headers:
        if name not in _PSEUDO_HEADERS and name not in index:
            raise SignatureError(f"Signed header {name} is missing from the request")
    if "(created)" in signed and params.created is None:
        raise SignatureError("Signature has no created parameter but (created) is signed")
    if "(expires)" in signed and params.expires is None:
        raise SignatureError("Signature has no expires parameter but (expires) is signed")

    if "digest" in signed:
        _check_digest(_joined(index, "digest") or "", body or b"")

    current = now or utcnow()
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    now_ts = current.timestamp()
    if "date" in signed:
        check_window(_parse_http_date(_joined(index, "date") or "").timestamp(), now_ts)
    if params.created is not None:
        check_window(params.created, now_ts)
    if params.expires is not None:
        if params.expires < now_ts:
            raise SignatureError("Signature has expired")
        if params.created is not None and (
            params.expires < params.created
            or params.expires - params.created > MAX_EXPIRATION_WINDOW.total_seconds()
        ):
            raise SignatureError("Signature expiration window is invalid or exceeds 12 hours")
    return params


# --- keys and verification -------------------------------------------------------------------


@lru_cache(maxsize=1024)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM (SubjectPublicKeyInfo or PKCS#1), parsed once per distinct PEM.

    Failures raise (and so are not cached): a bad key costs its parse every time, a good one once.
    """
    if len(pem) > MAX_PUBLIC_KEY_PEM_LENGTH:
        raise SignatureError("Invalid public key: too long")
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SignatureError("Invalid public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("Unsupported key type: only RSA keys are accepted")
    return key


@lru_cache(maxsize=256)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """One of our own accounts' keys, parsed once. They were made by us and read from our own
    database, so the RSA consistency check (a quarter of a second per key here, paid again by every
    delivery from an account that fell out of the cache) is skipped."""
    key = serialization.load_pem_private_key(
        pem.encode("utf-8"), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("only RSA private keys can sign")
    return key


def verify(
    params: SignatureParams,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    public_key_pem: str,
) -> None:
    """Check the signature itself with the key of `params.key_id`; returns quietly if it holds."""
    signing_string = build_signing_string(
        params.headers,
        method,
        path_and_query,
        headers,
        created=params.created,
        expires=params.expires,
    )
    key = load_public_key(public_key_pem)
    try:
        key.verify(params.signature, _encode(signing_string), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        algorithm = params.algorithm or "hs2019"
        raise SignatureError(
            f"Verification failed for {params.key_id} using {algorithm} (RSASSA-PKCS1-v1_5 with SHA-256)"
        ) from None


# --- signing ---------------------------------------------------------------------------------


def _quoted(value: str, what: str) -> str:
    if '"' in value or "\\" in value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError(f"{what} can't be put in a Signature header: {value!r}")
    return value


def sign_headers(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    *,
    key_id: str,
    private_key_pem: str,
) -> str:
    """The Signature header value over `signed_headers` of a request (rsa-sha256)."""
    names = [name.lower() for name in signed_headers]
    signing_string = build_signing_string(names, method, path_and_query, headers)
    key = load_private_key(private_key_pem)
    signature = key.sign(_encode(signing_string), padding.PKCS1v15(), hashes.SHA256())
    return (
        f'keyId="{_quoted(key_id, "keyId")}",algorithm="{SIGNING_ALGORITHM}",'
        f'headers="{" ".join(names)}",signature="{base64.b64encode(signature).decode("ascii")}"'
    )


def http_date(moment: datetime) -> str:
    """RFC 7231's IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to an outgoing request so that Mastodon and the rest accept it.

    Returns `Host`, `Date`, for a body (and for any POST) `Digest`, the `Content-Type` or `Accept`
    given in `headers` when they are signed, and `Signature`. The request must be sent with exactly
    these values and with the URL's path and query unchanged (not re-quoted), or the receiver's
    signing string will differ.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if not host:
        raise ValueError(f"no host in {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    index = _index(headers)
    out = {"Host": host, "Date": http_date(now or utcnow())}
    signed = ["(request-target)", "host", "date"]
    if body is not None or method.upper() == "POST":
        out["Digest"] = body_digest(body or b"")
        signed.append("digest")
        content_type = _joined(index, "content-type")
        if content_type is not None:
            out["Content-Type"] = content_type
            signed.append("content-type")
    else:
        accept = _joined(index, "accept")
        if accept is not None:
            out["Accept"] = accept
            signed.append("accept")
    out["Signature"] = sign_headers(
        method, target, out, signed, key_id=key_id, private_key_pem=private_key_pem
    )
    return out


def generate_key_pair() -> tuple[str, str]:
    """A new RSA-2048 key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo).

    The accounts service already makes every local account's key pair; this delegates to it so
    there is one way to make keys. Imported on call so that checking signatures does not load the
    accounts domain.
    """
    from kinfolk.domain.accounts.service import generate_key_pair as generate

    return generate()
