"""The command line as a new operator meets it: piped output, passwords, an unmigrated database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.runtime import _banner

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(data))
    monkeypatch.setenv("KINFOLK_DOMAIN", "kinfolk.test")
    monkeypatch.delenv("KINFOLK_DATABASE_URL", raising=False)
    return data


@pytest.mark.parametrize(
    "argv",
    [
        ["accounts", "list"],
        ["jobs", "list"],
        ["rules", "list"],
        ["accounts", "approve", "bob"],
        ["tokens", "create", "bob", "--scopes", "read"],
    ],
)
def test_commands_on_a_database_never_migrated_say_to_migrate(
    argv: list[str], fresh_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    assert "run `kinfolk migrate` first" in capsys.readouterr().err
    # Also when the file exists but holds no tables (a migrate that never ran, a wrong path).
    fresh_env.mkdir(parents=True, exist_ok=True)
    (fresh_env / "kinfolk.sqlite3").write_bytes(b"")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "never migrated" in err and "kinfolk migrate" in err


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys, fresh_env: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KINFOLK_DATABASE_URL", "postgresql://nobody:secretpw@127.0.0.1:1/kinfolk")
    assert main(["accounts", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Cannot reach the database postgresql+asyncpg://***@127.0.0.1:1/kinfolk")
    assert "secretpw" not in err and "Traceback" not in err


def test_password_is_asked_twice(monkeypatch: pytest.MonkeyPatch, fresh_env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["migrate"]) == 0
    typed = iter(["first-try-123", "typo-123", "", "good-pass-123", "good-pass-123"])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    assert main(["accounts", "create", "alice", "--email", "alice@example.com"]) == 0
    assert prompts == ["Password: ", "Password (again): ", "Password: ", "Password: ", "Password (again): "]
    err = capsys.readouterr().err
    assert "do not match" in err and "cannot be empty" in err

    typed = iter(["a-pass-1234", "b-pass-1234"] * 3)
    assert main(["accounts", "create", "bob", "--email", "bob@example.com"]) == 1
    assert "No password set" in capsys.readouterr().err


async def _many_rules(settings: Settings, count: int) -> None:
    from kinfolk.domain.instance.service import add_rule

    container = Container.build(settings, pool_size=1)
    try:
        async with container.db.uow() as uow:
            for n in range(count):
                await add_rule(uow.session, f"rule number {n} " + "x" * 900, hint="h" * 2000)
    finally:
        await container.close()


def _kinfolk(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "kinfolk", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        **kwargs,
    )


def test_piped_into_head_and_piped_password(fresh_env: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "KINFOLK_CONFIG": os.devnull,
    }
    assert _kinfolk(["migrate"], env).returncode == 0
    created = _kinfolk(
        ["accounts", "create", "alice", "--email", "a@example.com"], env, input="piped-pass-123\n"
    )
    assert created.returncode == 0, created.stderr
    asyncio.run(_many_rules(Settings(), 120))  # 360 kB of output: far more than a pipe holds
    # `kinfolk rules list | head -1`: head leaves after one line.
    piped = subprocess.run(
        f"{sys.executable} -m kinfolk rules list | head -1",
        shell=True,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert piped.stdout.count("\n") == 1 and "rule number 0" in piped.stdout
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr


def test_the_first_admin_hint_shows_until_an_owner_exists(fresh_env: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    settings = Settings()
    assert main(["migrate"]) == 0
    capsys.readouterr()
    _banner(settings, "serve", "uvicorn")
    assert "create the first admin" in capsys.readouterr().out
    assert (
        main(["accounts", "create", "admin", "--email", "a@example.com", "--password", "pw-long-12345"]) == 0
    )
    _banner(settings, "serve", "uvicorn")
    assert "create the first admin" in capsys.readouterr().out  # a user is no owner
    assert (
        main(
            [
                "accounts",
                "create",
                "boss",
                "--email",
                "b@example.com",
                "--password",
                "pw-long-12345",
                "--role",
                "owner",
            ]
        )
        == 0
    )
    capsys.readouterr()
    _banner(settings, "serve", "uvicorn")
    out = capsys.readouterr().out
    assert "serving https://kinfolk.test" in out and "create the first admin" not in out


def test_a_bad_setting_is_named_without_a_traceback(monkeypatch, capsys, fresh_env: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KINFOLK_LOG_FORMAT", "xml")
    assert main(["jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("KINFOLK_LOG_FORMAT: Input should be 'text' or 'json' (got 'xml')")


def test_a_worker_on_a_database_never_migrated_says_so(capsys, fresh_env: Path) -> None:  # type: ignore[no-untyped-def]
    assert main(["worker"]) == 1
    assert "run `kinfolk migrate` first" in capsys.readouterr().err
