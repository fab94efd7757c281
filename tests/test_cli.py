"""The operator commands, run as `kinfolk ...` would run them, against a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.oauth.service import lookup_token


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KINFOLK_DOMAIN", "kinfolk.test")
    monkeypatch.delenv("KINFOLK_SECRET_KEY", raising=False)
    return Settings()


def _lookup(settings: Settings, token: str) -> tuple[str | None, list[str]] | None:
    async def go() -> tuple[str | None, list[str]] | None:
        container = Container.build(settings)
        try:
            async with container.db.uow(write=False) as uow:
                owner = await lookup_token(uow.session, token)
                if owner is None:
                    return None
                username = owner.account.username if owner.account else None
                return username, owner.token.scope_list
        finally:
            await container.close()

    return asyncio.run(go())


def test_accounts_apps_and_tokens(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (
        main(
            [
                "accounts",
                "create",
                "admin",
                "--email",
                "admin@example.com",
                "--password",
                "pw-long-1",
                "--role",
                "owner",
            ]
        )
        == 0
    )
    assert main(["accounts", "list"]) == 0
    out = capsys.readouterr().out
    assert "admin@example.com" in out and "owner" in out

    assert (
        main(
            [
                "apps",
                "create",
                "Test App",
                "--client-id",
                "CID",
                "--client-secret",
                "CSECRET",
                "--scopes",
                "read write",
            ]
        )
        == 0
    )
    assert "client_id: CID" in capsys.readouterr().out

    assert (
        main(
            [
                "tokens",
                "create",
                "admin",
                "--scopes",
                "read write admin:read",
                "--app",
                "Test App",
                "--token",
                "TOK",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "TOK"
    assert _lookup(cli_env, "TOK") == ("admin", ["read", "write", "admin:read"])
    assert _lookup(cli_env, "NOT-A-TOKEN") is None

    # A generated token works too, without naming an app.
    assert main(["tokens", "create", "admin", "--scopes", "read"]) == 0
    generated = capsys.readouterr().out.strip()
    assert _lookup(cli_env, generated) == ("admin", ["read"])
    # The secret key was generated once and kept.
    assert (cli_env.data_dir / "secret_key").read_text().strip()


def test_bad_input_is_refused_with_a_message(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (
        main(["accounts", "create", "bad name!", "--email", "x@example.com", "--password", "pw-long-1"]) == 1
    )
    assert "username" in capsys.readouterr().err.lower()
    assert main(["accounts", "create", "bob", "--email", "bob@example.com", "--password", "pw-long-1"]) == 0
    assert main(["accounts", "create", "BOB", "--email", "other@example.com", "--password", "pw-long-1"]) == 1
    assert "taken" in capsys.readouterr().err
    assert main(["tokens", "create", "bob", "--scopes", "read nonsense"]) == 1
    assert main(["tokens", "create", "nobody", "--scopes", "read"]) == 1


def test_accounts_delete_asks_then_reserves_the_name(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    create = ["accounts", "create", "gone", "--email", "gone@example.com", "--password", "pw-long-1"]
    assert main(create) == 0
    assert main(["tokens", "create", "gone", "--scopes", "read"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert _lookup(cli_env, token) == ("gone", ["read"])

    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["accounts", "delete", "gone"]) == 1
    assert "Nothing deleted" in capsys.readouterr().err
    assert _lookup(cli_env, token) is not None

    answers: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: answers.append(prompt) or "yes")
    assert main(["accounts", "delete", "gone"]) == 0
    assert answers and "@gone" in answers[0]
    assert _lookup(cli_env, token) is None  # signed out at once
    assert main(["accounts", "list"]) == 0
    assert "gone@example.com" not in capsys.readouterr().out

    assert main(["accounts", "delete", "gone", "--yes"]) == 1
    assert "deleted already" in capsys.readouterr().err
    assert main(["accounts", "delete", "nobody", "--yes"]) == 1
    assert "No local account" in capsys.readouterr().err
    # The name stays reserved; the e-mail address is free again.
    assert main(create) == 1
    assert "already taken" in capsys.readouterr().err
    assert (
        main(["accounts", "create", "other", "--email", "gone@example.com", "--password", "pw-long-1"]) == 0
    )
