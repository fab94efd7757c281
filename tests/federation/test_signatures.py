"""HTTP signatures: the draft's own test vectors, round trips, and every way a request is refused.

The "Test" key pair and the expected signatures are draft-cavage-http-signatures-12, appendix C
(C.1 default, C.2 basic, C.3 all headers): a published test vector, so signing with the private
key must reproduce those signatures byte for byte and the public key must accept them. Note that
the C.3 text of draft-12 adds `(created)` and `(expires)` to the list but kept the older drafts'
signature value, which only verifies over the list without them; the list that verifies is used.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from multidict import CIMultiDict
from starlette.datastructures import Headers

from kinfolk.federation.signatures import (
    MAX_SIGNATURE_LENGTH,
    SignatureError,
    SignatureParams,
    body_digest,
    build_signing_string,
    check_request,
    generate_key_pair,
    load_public_key,
    parse_signature,
    sign_headers,
    sign_request,
    verify,
)

# --- draft-cavage-http-signatures-12, appendix C ---------------------------------------------

DRAFT_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
"""

DRAFT_PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIICXgIBAAKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161QF
NUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+F
UR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJwoYi+1hqp1fIekaxsyQIDAQAB
AoGBAJR8ZkCUvx5kzv+utdl7T5MnordT1TvoXXJGXK7ZZ+UuvMNUCdN2QPc4sBiA
QWvLw1cSKt5DsKZ8UETpYPy8pPYnnDEz2dDYiaew9+xEpubyeW2oH4Zx71wqBtOK
kqwrXa/pzdpiucRRjk6vE6YY7EBBs/g7uanVpGibOVAEsqH1AkEA7DkjVH28WDUg
f1nqvfn2Kj6CT7nIcE3jGJsZZ7zlZmBmHFDONMLUrXR/Zm3pR5m0tCmBqa5RK95u
412jt1dPIwJBANJT3v8pnkth48bQo/fKel6uEYyboRtA5/uHuHkZ6FQF7OUkGogc
mSJluOdc5t6hI1VsLn0QZEjQZMEOWr+wKSMCQQCC4kXJEsHAve77oP6HtG/IiEn7
kpyUXRNvFsDE0czpJJBvL/aRFUJxuRK91jhjC68sA7NsKMGg5OXb5I5Jj36xAkEA
gIT7aFOYBFwGgQAQkWNKLvySgKbAZRTeLBacpHMuQdl1DfdntvAyqpAZ0lY0RKmW
G6aFKaqQfOXKCyWoUiVknQJAXrlgySFci/2ueKlIE1QqIiLSZ8V8OlpFLRnb1pzI
7U1yQXnTAEFYM560yJlzUpOb1V4cScGd365tiSMvxLOvTA==
-----END RSA PRIVATE KEY-----
"""

# POST /foo?param=value&pet=dog HTTP/1.1 with these headers and body.
DRAFT_TARGET = "/foo?param=value&pet=dog"
DRAFT_BODY = b'{"hello": "world"}'
DRAFT_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
DRAFT_NOW = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)

DRAFT_DEFAULT_SIGNATURE = (
    "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25W"
    "qS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="
)
DRAFT_BASIC_SIGNATURE = (
    "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfE"
    "dKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="
)
DRAFT_ALL_HEADERS_SIGNATURE = (
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv1"
    "20V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="
)
DRAFT_ALL_HEADERS = "(request-target) host date content-type digest content-length"

DRAFT_CASES = [
    pytest.param(None, DRAFT_DEFAULT_SIGNATURE, id="C.1-default"),
    pytest.param("(request-target) host date", DRAFT_BASIC_SIGNATURE, id="C.2-basic"),
    pytest.param(DRAFT_ALL_HEADERS, DRAFT_ALL_HEADERS_SIGNATURE, id="C.3-all-headers"),
]


def draft_signature_header(headers: str | None, signature: str) -> str:
    listed = f'headers="{headers}",' if headers is not None else ""
    return f'keyId="Test",algorithm="rsa-sha256",{listed}signature="{signature}"'


def test_body_digest_matches_the_drafts_digest_header() -> None:
    assert body_digest(DRAFT_BODY) == DRAFT_HEADERS["Digest"]
    assert body_digest(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_the_basic_signing_string_is_the_drafts() -> None:
    assert build_signing_string(
        ["(request-target)", "host", "date"], "POST", DRAFT_TARGET, DRAFT_HEADERS
    ) == (
        "(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT"
    )


@pytest.mark.parametrize(("headers", "signature"), DRAFT_CASES)
def test_the_drafts_signatures_verify_with_its_public_key(headers: str | None, signature: str) -> None:
    params = parse_signature(draft_signature_header(headers, signature))
    assert params.key_id == "Test"
    assert params.signature == base64.b64decode(signature)
    verify(params, "POST", DRAFT_TARGET, DRAFT_HEADERS, DRAFT_PUBLIC_KEY)


@pytest.mark.parametrize(("headers", "signature"), DRAFT_CASES)
def test_the_drafts_signatures_fail_for_another_date(headers: str | None, signature: str) -> None:
    params = parse_signature(draft_signature_header(headers, signature))
    changed = {**DRAFT_HEADERS, "Date": "Sun, 05 Jan 2014 21:31:41 GMT"}
    with pytest.raises(SignatureError, match=r"^Verification failed for Test"):
        verify(params, "POST", DRAFT_TARGET, changed, DRAFT_PUBLIC_KEY)


@pytest.mark.parametrize(("headers", "signature"), DRAFT_CASES[1:])
def test_signing_with_the_drafts_private_key_reproduces_its_signatures(headers: str, signature: str) -> None:
    value = sign_headers(
        "POST",
        DRAFT_TARGET,
        DRAFT_HEADERS,
        headers.split(),
        key_id="Test",
        private_key_pem=DRAFT_PRIVATE_KEY,
    )
    assert value == draft_signature_header(headers, signature)


@pytest.mark.parametrize("field", ["Signature", "Authorization"])
def test_the_drafts_all_headers_request_passes_every_check(field: str) -> None:
    value = draft_signature_header(DRAFT_ALL_HEADERS, DRAFT_ALL_HEADERS_SIGNATURE)
    if field == "Authorization":
        value = "Signature " + value
    headers = {**DRAFT_HEADERS, field: value}
    params = check_request("POST", DRAFT_TARGET, headers, DRAFT_BODY, now=DRAFT_NOW)
    assert params.headers == DRAFT_ALL_HEADERS.split()
    verify(params, "POST", DRAFT_TARGET, headers, DRAFT_PUBLIC_KEY)


def test_the_drafts_basic_and_default_requests_are_refused_for_what_they_leave_unsigned() -> None:
    basic = {
        **DRAFT_HEADERS,
        "Signature": draft_signature_header("(request-target) host date", DRAFT_BASIC_SIGNATURE),
    }
    with pytest.raises(SignatureError) as refused:
        check_request("POST", DRAFT_TARGET, basic, DRAFT_BODY, now=DRAFT_NOW)
    assert (
        refused.value.reason == "Mastodon requires the Digest header to be signed when doing a POST request"
    )
    assert refused.value.status == 401

    default = {**DRAFT_HEADERS, "Signature": draft_signature_header(None, DRAFT_DEFAULT_SIGNATURE)}
    with pytest.raises(SignatureError, match=r"\(request-target\)"):
        check_request("POST", DRAFT_TARGET, default, DRAFT_BODY, now=DRAFT_NOW)


# --- round trips with our own keys -----------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://remote.example/users/alice#main-key"
BODY = b'{"type":"Follow","actor":"https://remote.example/users/alice","object":"https://kinfolk.test/users/bob"}'
ACTIVITY_JSON = "application/activity+json"


def _rsa_pems() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def alice() -> tuple[str, str]:
    return _rsa_pems()


@pytest.fixture(scope="module")
def mallory() -> tuple[str, str]:
    return _rsa_pems()


def signed_post(
    keys: tuple[str, str],
    *,
    url: str = "https://kinfolk.test/inbox",
    body: bytes = BODY,
    now: datetime = NOW,
) -> dict[str, str]:
    headers = sign_request(
        "POST",
        url,
        {"content-type": ACTIVITY_JSON, "User-Agent": "test"},
        body,
        key_id=KEY_ID,
        private_key_pem=keys[0],
        now=now,
    )
    return {**headers, "User-Agent": "test", "Content-Length": str(len(body))}


def signed_with(
    keys: tuple[str, str], method: str, target: str, headers: dict[str, str], names: str
) -> dict[str, str]:
    """Headers signed over exactly `names`: a valid signature for requests sign_request wouldn't make."""
    value = sign_headers(method, target, headers, names.split(), key_id=KEY_ID, private_key_pem=keys[0])
    return {**headers, "Signature": value}


def test_post_round_trip(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    assert sent["Host"] == "kinfolk.test"
    assert sent["Date"] == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert sent["Digest"] == body_digest(BODY)
    assert sent["Content-Type"] == ACTIVITY_JSON
    assert 'headers="(request-target) host date digest content-type"' in sent["Signature"]
    assert 'algorithm="rsa-sha256"' in sent["Signature"]
    # The receiver sees header names in another case, a few seconds later.
    received = {name.lower(): value for name, value in sent.items()}
    params = check_request("POST", "/inbox", received, BODY, now=NOW + timedelta(seconds=3))
    assert params.key_id == KEY_ID
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ["(request-target)", "host", "date", "digest", "content-type"]
    verify(params, "POST", "/inbox", received, alice[1])


def test_get_round_trip_signs_accept(alice: tuple[str, str]) -> None:
    sent = sign_request(
        "GET",
        "https://remote.example/users/bob/outbox?page=true",
        {"Accept": ACTIVITY_JSON},
        None,
        key_id=KEY_ID,
        private_key_pem=alice[0],
        now=NOW,
    )
    assert "Digest" not in sent
    assert sent["Accept"] == ACTIVITY_JSON
    assert 'headers="(request-target) host date accept"' in sent["Signature"]
    params = check_request("GET", "/users/bob/outbox?page=true", sent, None, now=NOW)
    verify(params, "GET", "/users/bob/outbox?page=true", sent, alice[1])


def test_get_without_accept_signs_the_minimum(alice: tuple[str, str]) -> None:
    sent = sign_request(
        "GET", "https://remote.example:8443/actor", {}, None, key_id=KEY_ID, private_key_pem=alice[0], now=NOW
    )
    assert sent["Host"] == "remote.example:8443"
    assert 'headers="(request-target) host date"' in sent["Signature"]
    verify(check_request("GET", "/actor", sent, None, now=NOW), "GET", "/actor", sent, alice[1])


def test_authorization_signature_form_is_accepted(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    received = {**sent, "Authorization": "Signature " + sent.pop("Signature")}
    verify(check_request("POST", "/inbox", received, BODY, now=NOW), "POST", "/inbox", received, alice[1])


def starlette_headers(lines: list[tuple[str, str]]) -> Mapping[str, str]:
    """Headers as the inbox receives them: Starlette's, from the raw lines, repeats kept."""
    return Headers(raw=[(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in lines])


def aiohttp_headers(lines: list[tuple[str, str]]) -> Mapping[str, str]:
    """Headers as aiohttp hands them over: a case-insensitive multidict."""
    return CIMultiDict(lines)


HEADER_TYPES = [pytest.param(starlette_headers, id="starlette"), pytest.param(aiohttp_headers, id="aiohttp")]


@pytest.mark.parametrize("make", HEADER_TYPES)
def test_several_values_of_one_header_are_joined_as_the_draft_says(
    alice: tuple[str, str], make: Callable[[list[tuple[str, str]]], Mapping[str, str]]
) -> None:
    lines = [("Accept", ACTIVITY_JSON), ("accept", "application/ld+json ")]
    assert build_signing_string(["accept"], "GET", "/", make(lines)) == (
        "accept: application/activity+json, application/ld+json"
    )
    # A signer that saw one combined line and a receiver that got two lines agree.
    sent = sign_request(
        "GET",
        "https://kinfolk.test/users/bob",
        {"Accept": f"{ACTIVITY_JSON}, application/ld+json"},
        None,
        key_id=KEY_ID,
        private_key_pem=alice[0],
        now=NOW,
    )
    received = make([(k, v) for k, v in sent.items() if k != "Accept"] + lines)
    params = check_request("GET", "/users/bob", received, None, now=NOW)
    verify(params, "GET", "/users/bob", received, alice[1])


# --- refusals before any key -----------------------------------------------------------------


def refusal(
    headers: Mapping[str, str], *, method: str = "POST", target: str = "/inbox", body: bytes | None = BODY
) -> SignatureError:
    with pytest.raises(SignatureError) as refused:
        check_request(method, target, headers, body, now=NOW)
    return refused.value


def test_unsigned_request_is_refused() -> None:
    error = refusal({"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT"})
    assert (error.reason, error.status) == ("Request not signed", 401)
    assert refusal({"Authorization": "Bearer abc"}).reason == "Request not signed"


@pytest.mark.parametrize("algorithm", ["rsa-sha1", "hmac-sha256", "ed25519", "RSA-SHA512"])
def test_unsupported_algorithms_are_refused(alice: tuple[str, str], algorithm: str) -> None:
    sent = signed_post(alice)
    sent["Signature"] = sent["Signature"].replace('algorithm="rsa-sha256"', f'algorithm="{algorithm}"')
    assert refusal(sent).reason == "Unsupported signature algorithm"


def test_hs2019_is_accepted(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    sent["Signature"] = sent["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hs2019"')
    params = check_request("POST", "/inbox", sent, BODY, now=NOW)
    assert params.algorithm == "hs2019"
    verify(params, "POST", "/inbox", sent, alice[1])


def test_tampered_body_fails_the_digest(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    tampered = BODY.replace(b"bob", b"bib")
    assert len(tampered) == len(BODY)
    error = refusal(sent, body=tampered)
    assert error.reason.startswith("Invalid Digest value. Computed SHA-256 digest: ")
    assert body_digest(tampered).removeprefix("SHA-256=") in error.reason
    assert error.status == 401


def test_post_with_digest_unsigned_is_refused_though_its_signature_is_valid(alice: tuple[str, str]) -> None:
    headers = {"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT", "Digest": body_digest(BODY)}
    sent = signed_with(alice, "POST", "/inbox", headers, "(request-target) host date")
    verify(parse_signature(sent["Signature"]), "POST", "/inbox", sent, alice[1])
    assert (
        refusal(sent).reason == "Mastodon requires the Digest header to be signed when doing a POST request"
    )


def test_request_target_and_host_must_be_signed(alice: tuple[str, str]) -> None:
    headers = {"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT"}
    without_host = signed_with(alice, "GET", "/users/bob", headers, "(request-target) date")
    assert (
        refusal(without_host, method="GET", target="/users/bob", body=None).reason
        == "The Host header must be signed"
    )
    without_target = signed_with(alice, "GET", "/users/bob", headers, "host date")
    assert "(request-target)" in refusal(without_target, method="GET", target="/users/bob", body=None).reason
    without_date = signed_with(alice, "GET", "/users/bob", headers, "(request-target) host")
    assert "Date" in refusal(without_date, method="GET", target="/users/bob", body=None).reason


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("SHA-512=" + base64.b64encode(b"x" * 64).decode(), "SHA-256 is required"),
        ("SHA-256=not base64!", "not a valid base64 string"),
        ("SHA-256=" + base64.b64encode(b"x" * 31).decode(), "not a SHA-256 digest"),
        ("SHA-256=", "not a SHA-256 digest"),
        ("", "SHA-256 is required"),
    ],
)
def test_bad_digest_headers_are_refused_with_a_reason(
    alice: tuple[str, str], digest: str, reason: str
) -> None:
    headers = {"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT", "Digest": digest}
    sent = signed_with(alice, "POST", "/inbox", headers, "(request-target) host date digest")
    error = refusal(sent)
    assert reason in error.reason
    assert error.status == 401


def test_a_digest_offering_several_algorithms_is_accepted_when_sha256_matches(alice: tuple[str, str]) -> None:
    digest = (
        "SHA-512="
        + base64.b64encode(b"y" * 64).decode()
        + ", "
        + body_digest(BODY).replace("SHA-256", "sha-256")
    )
    headers = {"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT", "Digest": digest}
    sent = signed_with(alice, "POST", "/inbox", headers, "(request-target) host date digest")
    verify(check_request("POST", "/inbox", sent, BODY, now=NOW), "POST", "/inbox", sent, alice[1])


@pytest.mark.parametrize(
    "age",
    [
        timedelta(hours=2),
        timedelta(days=1),
        timedelta(hours=-2),
        timedelta(minutes=-6),
        timedelta(minutes=61),
    ],
    ids=["2h-old", "1d-old", "2h-future", "6min-future", "61min-old"],
)
def test_dates_outside_the_window_are_refused(alice: tuple[str, str], age: timedelta) -> None:
    sent = signed_post(alice, now=NOW - age)
    verify(parse_signature(sent["Signature"]), "POST", "/inbox", sent, alice[1])  # valid, only stale
    assert refusal(sent).reason == "Signed request date outside acceptable time window"


@pytest.mark.parametrize("age", [timedelta(minutes=59), timedelta(minutes=-4), timedelta(0)])
def test_dates_inside_the_window_are_accepted(alice: tuple[str, str], age: timedelta) -> None:
    sent = signed_post(alice, now=NOW - age)
    check_request("POST", "/inbox", sent, BODY, now=NOW)


@pytest.mark.parametrize("date", ["wrong date", "", "Sun, 99 Mar 2026 12:00:00 GMT", "x" * 5000])
def test_malformed_dates_are_refused(alice: tuple[str, str], date: str) -> None:
    headers = {"Host": "kinfolk.test", "Date": date, "Digest": body_digest(BODY)}
    sent = signed_with(alice, "POST", "/inbox", headers, "(request-target) host date digest")
    error = refusal(sent)
    assert error.reason.startswith("Invalid Date header: ")
    assert error.status == 401


def test_a_header_value_cannot_smuggle_a_line_into_the_signing_string(alice: tuple[str, str]) -> None:
    # Signed over "host" alone, this value would read as a signed host and date.
    smuggled = {"Host": "kinfolk.test\ndate: Sun, 01 Mar 2026 12:00:00 GMT"}
    with pytest.raises(SignatureError) as refused:
        build_signing_string(["(request-target)", "host"], "GET", "/", smuggled)
    assert refused.value.status == 400


def test_signed_header_absent_from_the_request_is_refused(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    del sent["Content-Type"]
    assert refusal(sent).reason == "Signed header content-type is missing from the request"


@lru_cache
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _signed_with_created(
    keys: tuple[str, str], created: int, expires: int | None, *, algorithm: str = "hs2019"
) -> dict[str, str]:
    names = ["(request-target)", "host", "(created)", "digest"] + (
        ["(expires)"] if expires is not None else []
    )
    headers = {"Host": "kinfolk.test", "Digest": body_digest(BODY)}
    text = build_signing_string(names, "POST", "/inbox", headers, created=created, expires=expires)
    key = _private_key(keys[0])
    signature = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    times = f"created={created}," + (f"expires={expires}," if expires is not None else "")
    value = (
        f'keyId="{KEY_ID}",algorithm="{algorithm}",{times}headers="{" ".join(names)}",signature="{signature}"'
    )
    return {**headers, "Signature": value}


def test_created_and_expires_are_signed_and_checked(alice: tuple[str, str]) -> None:
    now = int(NOW.timestamp())
    fresh = _signed_with_created(alice, now - 10, now + 290)
    params = check_request("POST", "/inbox", fresh, BODY, now=NOW)
    assert (params.created, params.expires) == (now - 10, now + 290)
    verify(params, "POST", "/inbox", fresh, alice[1])
    # The same signature with another created value fails: (created) is in the signing string.
    forged = {**fresh, "Signature": fresh["Signature"].replace(f"created={now - 10}", f"created={now - 5}")}
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(check_request("POST", "/inbox", forged, BODY, now=NOW), "POST", "/inbox", forged, alice[1])


def test_expired_or_overlong_or_stale_created_signatures_are_refused(alice: tuple[str, str]) -> None:
    now = int(NOW.timestamp())
    assert refusal(_signed_with_created(alice, now - 600, now - 1)).reason == "Signature has expired"
    assert "12 hours" in refusal(_signed_with_created(alice, now - 60, now + 13 * 3600)).reason
    assert "time window" in refusal(_signed_with_created(alice, now - 2 * 3600, None)).reason
    assert "time window" in refusal(_signed_with_created(alice, now + 2 * 3600, None)).reason
    assert "(created)" in refusal(_signed_with_created(alice, now, None, algorithm="rsa-sha256")).reason


# --- refusals by verification ----------------------------------------------------------------


@pytest.mark.parametrize("target", ["/users/bob/inbox", "/alternative-path", "/inbox?x=1", "/inbox/"])
def test_a_post_signature_replayed_to_another_path_fails(alice: tuple[str, str], target: str) -> None:
    sent = signed_post(alice)
    params = check_request("POST", target, sent, BODY, now=NOW)  # nothing but the key can tell
    with pytest.raises(SignatureError) as refused:
        verify(params, "POST", target, sent, alice[1])
    assert refused.value.reason.startswith(f"Verification failed for {KEY_ID}")
    assert refused.value.status == 401


def test_a_get_signature_replayed_as_a_post_fails(alice: tuple[str, str]) -> None:
    sent = sign_request(
        "GET", "https://kinfolk.test/inbox", {}, None, key_id=KEY_ID, private_key_pem=alice[0], now=NOW
    )
    assert "digest" in refusal(sent).reason.lower()
    params = parse_signature(sent["Signature"])
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(params, "POST", "/inbox", sent, alice[1])


@pytest.mark.parametrize(
    "target", ["/users/bob/outbox?page=false", "/users/bob/outbox", "/users/bob/outbox?page=true&x"]
)
def test_a_changed_query_string_fails(alice: tuple[str, str], target: str) -> None:
    sent = sign_request(
        "GET",
        "https://kinfolk.test/users/bob/outbox?page=true",
        {},
        None,
        key_id=KEY_ID,
        private_key_pem=alice[0],
        now=NOW,
    )
    params = check_request("GET", target, sent, None, now=NOW)
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(params, "GET", target, sent, alice[1])


def test_a_changed_host_fails(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    moved = {**sent, "Host": "other.example"}
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(check_request("POST", "/inbox", moved, BODY, now=NOW), "POST", "/inbox", moved, alice[1])


def test_the_wrong_key_fails(alice: tuple[str, str], mallory: tuple[str, str]) -> None:
    sent = signed_post(mallory)
    params = check_request("POST", "/inbox", sent, BODY, now=NOW)
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(params, "POST", "/inbox", sent, alice[1])


def test_key_rotation_old_key_fails_new_key_verifies(
    alice: tuple[str, str], mallory: tuple[str, str]
) -> None:
    old, new = alice, mallory
    sent = signed_post(new)
    params = check_request("POST", "/inbox", sent, BODY, now=NOW)
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(params, "POST", "/inbox", sent, old[1])
    verify(params, "POST", "/inbox", sent, new[1])


def test_a_signature_of_the_right_length_but_other_bytes_fails(alice: tuple[str, str]) -> None:
    sent = signed_post(alice)
    params = parse_signature(sent["Signature"])
    flipped = bytes([params.signature[0] ^ 1]) + params.signature[1:]
    forged = SignatureParams(params.key_id, params.algorithm, params.headers, flipped)
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify(forged, "POST", "/inbox", sent, alice[1])


# --- garbage headers -------------------------------------------------------------------------

SIG = base64.b64encode(b"s" * 256).decode()
GARBAGE = [
    pytest.param(f'keyId="a,algorithm="rsa-sha256",signature="{SIG}', 400, id="quote-inside-value"),
    pytest.param('keyId="a\\', 400, id="dangling-escape"),
    pytest.param(f'signature="{SIG}",keyId="abc', 400, id="unterminated-last-value"),
    pytest.param(f'keyId="a",keyId="b",signature="{SIG}"', 400, id="duplicate-keyId"),
    pytest.param(f'keyId="a",KEYID="b",signature="{SIG}"', 400, id="duplicate-keyId-other-case"),
    pytest.param(f'keyId="a",signature="{SIG}",signature="{SIG}"', 400, id="duplicate-signature"),
    pytest.param('keyId="' + "a" * 64 * 1024 + f'",signature="{SIG}"', 400, id="64KB-value"),
    pytest.param("x" * (MAX_SIGNATURE_LENGTH + 1), 400, id="just-over-the-cap"),
    pytest.param(
        'keyId="a",algorithm="rsa-sha256",headers="(request-target) host date"', 401, id="missing-signature"
    ),
    pytest.param(f'algorithm="rsa-sha256",signature="{SIG}"', 401, id="missing-keyId"),
    pytest.param('keyId="a",signature=""', 401, id="empty-signature"),
    pytest.param('keyId="a",signature="not base64!!"', 400, id="bad-base64"),
    pytest.param('keyId="a",signature="AAA"', 400, id="bad-base64-padding"),
    pytest.param('keyId="a",signature="AAAA*AAAA"', 400, id="base64-with-a-stray-character"),
    pytest.param("not a real auth header", 400, id="prose"),
    pytest.param("", 401, id="empty"),
    pytest.param(",,,", 401, id="only-commas"),
    pytest.param("=", 400, id="lone-equals"),
    pytest.param('keyId"a"', 400, id="no-equals"),
    pytest.param(f'keyId="a" extra,signature="{SIG}"', 400, id="text-after-value"),
    pytest.param(f'keyId=a"b,signature="{SIG}"', 400, id="quote-in-token"),
    pytest.param(f'keyId="a",headers="",signature="{SIG}"', 400, id="empty-headers"),
    pytest.param(
        f'keyId="a",headers="(request-target) ho\x00st",signature="{SIG}"', 400, id="bad-header-name"
    ),
    pytest.param(f'keyId="a",created="yesterday",signature="{SIG}"', 400, id="bad-created"),
    pytest.param(f'keyId="a",expires=99999999999999999999,signature="{SIG}"', 400, id="huge-expires"),
    pytest.param('keyId="a",signature="' + "A" * 40000 + '"', 400, id="long-signature"),
    pytest.param("\u00e9\u4e2d" * 100, 400, id="non-ascii"),
]


@pytest.mark.parametrize(("value", "status"), GARBAGE)
def test_garbage_signature_headers_are_refused_with_a_signature_error(value: str, status: int) -> None:
    headers = {"Host": "kinfolk.test", "Date": "Sun, 01 Mar 2026 12:00:00 GMT", "Signature": value}
    with pytest.raises(SignatureError) as refused:
        check_request("POST", "/inbox", headers, BODY, now=NOW)
    assert refused.value.status == status
    with pytest.raises(SignatureError):
        parse_signature(value)


@pytest.mark.parametrize("make", HEADER_TYPES)
def test_two_signature_headers_are_refused(
    make: Callable[[list[tuple[str, str]]], Mapping[str, str]],
) -> None:
    lines = [("Signature", f'keyId="a",signature="{SIG}"'), ("signature", f'keyId="b",signature="{SIG}"')]
    assert refusal(make(lines)).status == 400


def test_parsing_is_tolerant_of_spacing_and_quoted_pairs() -> None:
    value = (
        f' keyId = "https://a.example/u\\"x#k" ,\talgorithm=hs2019 ,, '
        f'headers="(Request-Target)  Host\tdate",signature="{SIG}", extension="ignored" , '
    )
    params = parse_signature(value)
    assert params.key_id == 'https://a.example/u"x#k'
    assert params.algorithm == "hs2019"
    assert params.headers == ["(request-target)", "host", "date"]
    assert params.signature == b"s" * 256
    assert (params.created, params.expires) == (None, None)
    assert parse_signature(f'keyId="a",signature="{SIG}",created=1402170695').created == 1402170695


# --- keys ------------------------------------------------------------------------------------


def test_public_keys_are_parsed_once_per_pem(alice: tuple[str, str]) -> None:
    first = load_public_key(alice[1])
    hits = load_public_key.cache_info().hits
    assert load_public_key(alice[1]) is first
    assert load_public_key.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    "pem",
    ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "A" * 20000],
)
def test_invalid_public_keys_fail_as_signature_errors(alice: tuple[str, str], pem: str) -> None:
    params = check_request("POST", "/inbox", signed_post(alice), BODY, now=NOW)
    with pytest.raises(SignatureError, match="Invalid public key"):
        verify(params, "POST", "/inbox", signed_post(alice), pem)


def test_non_rsa_keys_are_refused(alice: tuple[str, str]) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(SignatureError, match="Unsupported key type"):
        load_public_key(pem)


def test_generated_key_pairs_sign_and_verify() -> None:
    private, public = generate_key_pair()
    key = load_public_key(public)
    assert key.key_size == 2048
    sent = signed_post((private, public))
    verify(check_request("POST", "/inbox", sent, BODY, now=NOW), "POST", "/inbox", sent, public)
    assert generate_key_pair()[1] != public


def test_sign_request_refuses_a_key_id_that_would_break_the_header(alice: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="keyId"):
        sign_request(
            "GET", "https://a.example/", {}, None, key_id='a",x="', private_key_pem=alice[0], now=NOW
        )
