"""`kinfolk doctor` against a server that is set up well, and against one where much is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.ops.doctor import is_local, run_checks
from tests.conftest import REDIS_URL, REQUIRE_SERVICES


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but unreachable: {exc}")
        return False


def _lines(out: str) -> dict[str, str]:
    """check name -> its line, from the printed report."""
    found = {}
    for line in out.splitlines():
        level, _, rest = line.partition(" ")
        if level in ("OK", "WARN", "FAIL"):
            found[rest.strip().split("  ")[0].strip()] = line
    return found


def test_a_good_configuration_passes(live_server, db_url: str, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    domain = live_server.url.split("://", 1)[1]
    monkeypatch.setenv("KINFOLK_DOMAIN", domain)
    monkeypatch.setenv("KINFOLK_PROTOCOL", "http")
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "good"))
    monkeypatch.setenv("KINFOLK_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("KINFOLK_REGISTRATIONS", "approval")
    monkeypatch.setenv("KINFOLK_REDIS_URL", REDIS_URL)
    if not _redis_answers():
        monkeypatch.delenv("KINFOLK_REDIS_URL")

    assert main(["doctor", "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    lines = _lines(out)
    assert set(lines) == {
        "domain",
        "protocol",
        "secret key",
        "registrations",
        "database",
        "redis",
        "storage",
        "reachable",
        "clock",
    }
    assert lines["reachable"].startswith("OK") and f"http://{domain}/health answers" in lines["reachable"]
    assert lines["database"].startswith("OK") and "(head)" in lines["database"]
    assert lines["storage"].startswith("OK") and lines["registrations"].startswith("OK")
    # The clock was compared with another one: the database server's (PostgreSQL) or /health's Date.
    assert lines["clock"].startswith("OK") and "differs from" in lines["clock"]
    # The only warning left is the local domain of a test server.
    assert [name for name, line in lines.items() if not line.startswith("OK")] == ["domain"]
    assert "0 failed" in out


def test_a_broken_configuration_fails_with_what_to_fix(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    never_migrated = tmp_path / "empty.sqlite3"
    never_migrated.write_bytes(b"")
    monkeypatch.setenv("KINFOLK_DOMAIN", "social.example")
    monkeypatch.setenv("KINFOLK_PROTOCOL", "http")
    monkeypatch.setenv("KINFOLK_DATABASE_URL", f"sqlite:///{never_migrated}")
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "broken"))
    monkeypatch.setenv("KINFOLK_SECRET_KEY", "short")
    monkeypatch.setenv("KINFOLK_REGISTRATIONS", "open")
    monkeypatch.setenv("KINFOLK_REDIS_URL", "redis://:pw@127.0.0.1:1/0")
    monkeypatch.setenv("KINFOLK_S3_BUCKET", "media")
    monkeypatch.setenv("KINFOLK_S3_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("KINFOLK_S3_ACCESS_KEY", "a")
    monkeypatch.setenv("KINFOLK_S3_SECRET_KEY", "b")

    assert main(["doctor", "--timeout", "1"]) == 1
    out = capsys.readouterr().out
    lines = _lines(out)
    assert lines["domain"].startswith("OK")
    assert lines["protocol"].startswith("FAIL") and "KINFOLK_PROTOCOL=https" in lines["protocol"]
    assert lines["secret key"].startswith("FAIL") and "at least 32" in lines["secret key"]
    assert lines["registrations"].startswith("WARN") and "approval" in lines["registrations"]
    assert lines["database"].startswith("FAIL") and "kinfolk migrate" in lines["database"]
    assert lines["redis"].startswith("FAIL") and "***@127.0.0.1:1" in lines["redis"] and ":pw@" not in out
    assert lines["storage"].startswith("FAIL") and "'media'" in lines["storage"]
    assert lines["reachable"].startswith("WARN") and "http://social.example/health" in lines["reachable"]
    assert "5 failed" in out


async def test_an_unreachable_database_and_an_unwritable_media_directory(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.mkdir()
    (blocked / "media").write_text("a file where the media directory should be")
    settings = Settings(
        domain="kinfolk.test",
        data_dir=blocked,
        database_url="postgresql://nobody@127.0.0.1:1/kinfolk",
        secret_key="s" * 40,
        registrations="closed",
    )
    checks = {c.name: c for c in await run_checks(settings, timeout=1)}
    assert checks["database"].level == "FAIL" and "cannot reach the database" in checks["database"].message
    assert checks["storage"].level == "FAIL" and "cannot write" in checks["storage"].message
    assert checks["registrations"].level == "OK"


@pytest.mark.parametrize(
    ("domain", "local"),
    [
        ("localhost:8000", True),
        ("127.0.0.1:3000", True),
        ("[::1]:80", True),
        ("kinfolk.test", True),
        ("social.example", False),
        ("mastodon.social", False),
    ],
)
def test_local_domains(domain: str, local: bool) -> None:
    assert is_local(domain) is local
