"""`kinfolk rules add | list | remove`, run as an operator would, against a real database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kinfolk.cli import main


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KINFOLK_DOMAIN", "kinfolk.test")


def test_rules_commands(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "add", "Be kind", "--hint", "To everyone."]) == 0
    first = re.search(r"Added rule (\d+)", capsys.readouterr().out)
    assert first is not None
    assert main(["rules", "add", "No spam"]) == 0
    capsys.readouterr()

    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert out.index("Be kind") < out.index("No spam")
    assert "(To everyone.)" in out

    assert main(["rules", "remove", first.group(1)]) == 0
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert "Be kind" not in out and "No spam" in out

    assert main(["rules", "remove", first.group(1)]) == 1
    assert main(["rules", "add", "   "]) == 1
    assert "can't be blank" in capsys.readouterr().err
