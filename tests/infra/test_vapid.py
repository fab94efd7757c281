"""The VAPID key: a valid P-256 point, kept across restarts, or taken from the settings."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.infra import vapid


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    vapid.clear_cache()
    yield
    vapid.clear_cache()


def _settings(data_dir: Path, **extra: str) -> Settings:
    url = f"sqlite:///{data_dir / 'kinfolk.sqlite3'}"
    return Settings(domain="kinfolk.test", data_dir=data_dir, secret_key="s", database_url=url, **extra)


def _decode(text: str) -> bytes:
    assert "=" not in text and "+" not in text and "/" not in text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_public_key_is_an_uncompressed_p256_point(tmp_path: Path) -> None:
    public = vapid.vapid_public_key(_settings(tmp_path))
    raw = _decode(public)
    assert len(raw) == 65 and raw[0] == 0x04
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    assert point.curve.name == "secp256r1"


def test_generated_once_kept_private_and_stable_across_restarts(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    first = vapid.vapid_public_key(settings)
    key_file = tmp_path / "data" / vapid.KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    vapid.clear_cache()  # a new process
    assert vapid.vapid_public_key(_settings(tmp_path / "data")) == first
    assert vapid.vapid_public_key(_settings(tmp_path / "other")) != first


async def test_container_extras_hold_the_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    container = Container.build(settings, pool_size=1)
    try:
        assert "vapid_public_key" not in container.extras
        key = vapid.ensure_vapid_public_key(container)
        assert container.extras["vapid_public_key"] == key
    finally:
        await container.close()
    vapid.clear_cache()
    again = Container.build(_settings(tmp_path / "data"), pool_size=1)
    try:
        assert vapid.ensure_vapid_public_key(again) == key
    finally:
        await again.close()


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "data" / vapid.KEY_FILE

    def load(_: int) -> bytes:
        return vapid.public_key_bytes(vapid._load_or_create(path))

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(load, range(16)))
    assert len(keys) == 1
    assert [p.name for p in path.parent.iterdir()] == [vapid.KEY_FILE]


def test_configured_raw_key_is_used_and_nothing_written(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    settings = _settings(tmp_path / "data", vapid_private_key=vapid.b64url(raw))
    assert vapid.vapid_public_key(settings) == vapid.b64url(vapid.public_key_bytes(key))
    assert not (tmp_path / "data" / vapid.KEY_FILE).exists()


def test_configured_pem_key_is_used(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings = _settings(tmp_path, vapid_private_key=pem)
    assert vapid.vapid_public_key(settings) == vapid.b64url(vapid.public_key_bytes(key))
    assert vapid.vapid_private_key(settings).private_numbers() == key.private_numbers()


@pytest.mark.parametrize("value", ["too-short", vapid.b64url(b"x" * 31)])
def test_bad_configured_key_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError):
        vapid.vapid_public_key(_settings(tmp_path, vapid_private_key=value))


def test_non_p256_pem_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError):
        vapid.vapid_public_key(_settings(tmp_path, vapid_private_key=pem))
