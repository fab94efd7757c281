"""`kinfolk domains block | unblock | list`, run as an operator would, against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfolk.cli import main


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KINFOLK_DOMAIN", "kinfolk.test")


def test_domains_commands(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["domains", "block", "Spam.Example.", "--severity", "suspend"]) == 0
    assert "Blocked spam.example (suspend)" in capsys.readouterr().out
    assert (
        main(["domains", "block", "pics.example", "--severity", "noop", "--reject-media", "--obfuscate"]) == 0
    )
    capsys.readouterr()
    assert main(["domains", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["pics.example", "noop", "reject-media", "obfuscate"]
    assert lines[1].split() == ["spam.example", "suspend"]

    assert main(["domains", "unblock", "spam.example"]) == 0
    assert main(["domains", "unblock", "spam.example"]) == 1
    assert main(["domains", "block", "https://nope/"]) == 1
    assert "Not a domain name" in capsys.readouterr().err
    assert main(["domains", "list"]) == 0
    assert "spam.example" not in capsys.readouterr().out
