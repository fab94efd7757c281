"""The harness's pieces that need no server: test selection, and seeding through the real CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import pytest

from kinfolk.cli import main
from kinfolk.config import Settings
from kinfolk.container import Container
from kinfolk.domain.accounts.repo import get_by_username, get_user_for_account
from kinfolk.domain.oauth.service import lookup_token


def test_selection_accepts_files_names_and_node_ids(compat_run: ModuleType) -> None:
    targets = compat_run.pytest_targets("test_instance.py test_auth tests/test_status.py::test_reply")
    assert targets == ["tests/test_instance.py", "tests/test_auth.py", "tests/test_status.py::test_reply"]
    assert len(compat_run.pytest_targets("")) == 20


def test_tests_taking_the_vcr_fixture_are_recorded(compat_run: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_streaming.py").write_text(
        "def test_parse():\n    pass\n\n"
        "def test_stream_user(api, api2, vcr):\n    pass\n\n"
        "def test_stream_direct(api, vcr):\n    pass\n\n"
        "def test_stream_media(api):\n    if api:\n        patch_streaming()\n"
    )
    everything = compat_run.recorder_tests(tmp_path, ["tests/test_streaming.py", "tests/test_other.py"])
    assert everything == [
        "tests/test_streaming.py::test_stream_user",
        "tests/test_streaming.py::test_stream_direct",
        "tests/test_streaming.py::test_stream_media",
    ]
    one = compat_run.recorder_tests(tmp_path, ["tests/test_streaming.py::test_stream_direct"])
    assert one == ["tests/test_streaming.py::test_stream_direct"]
    assert compat_run.recorder_tests(tmp_path, ["tests/test_streaming.py::test_parse"]) == []


@pytest.fixture
def seeded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compat_run: ModuleType) -> Settings:
    monkeypatch.setenv("KINFOLK_DATABASE_URL", db_url)
    monkeypatch.setenv("KINFOLK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KINFOLK_DOMAIN", "localhost:3000")
    monkeypatch.delenv("KINFOLK_SECRET_KEY", raising=False)
    assert main(["migrate"]) == 0
    for command in compat_run.SEED:
        assert main(command) == 0, command
    return Settings()


def test_seed_gives_what_setup_sql_describes(seeded: Settings) -> None:
    async def go() -> dict[str, object]:
        container = Container.build(seeded)
        try:
            async with container.db.uow(write=False) as uow:
                found: dict[str, object] = {}
                for token in ("", "_2", "_3"):
                    owner = await lookup_token(uow.session, f"__MASTODON_PY_TEST_ACCESS_TOKEN{token}")
                    assert owner is not None and owner.account is not None
                    found[token] = (owner.account.username, owner.token.scope_list)
                test = await get_by_username(uow.session, "mastodonpy_test")
                test2 = await get_by_username(uow.session, "mastodonpy_test_2")
                assert test is not None and test2 is not None
                user = await get_user_for_account(uow.session, test.id)
                user2 = await get_user_for_account(uow.session, test2.id)
                assert user is not None and user2 is not None
                found["test"] = (test.locked, user.locale)
                found["test2"] = (test2.locked, test2.discoverable, test2.indexable, user2.locale)
                return found
        finally:
            await container.close()

    found = asyncio.run(go())
    assert found[""] == ("mastodonpy_test", ["read", "write", "follow", "push"])
    assert found["_3"] == ("mastodonpy_test_2", ["read", "write", "follow", "push"])
    assert found["_2"] == ("admin", ["read", "write", "follow", "push", "admin:read", "admin:write"])
    assert found["test"] == (True, "ja")
    assert found["test2"] == (False, True, True, "ja")


def test_scratch_copy_drops_only_the_live_tests_recordings(
    compat_run: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdist = tmp_path / "sdist"
    (sdist / "tests" / "cassettes").mkdir(parents=True)
    (sdist / "tests" / "cassettes_special").mkdir()
    for name in ("cassettes/test_a_datetimeobjects.pkl", "cassettes/test_a.yaml", "cassettes_special/b.pkl"):
        (sdist / "tests" / name).write_text("x")
    monkeypatch.setattr(compat_run, "RUN", tmp_path / "run")
    scratch = compat_run.scratch_suite(sdist)
    assert scratch == tmp_path / "run" / "suite"
    assert not (scratch / "tests" / "cassettes" / "test_a_datetimeobjects.pkl").exists()
    assert not (scratch / "tests" / "cassettes" / "test_a.yaml").exists()
    assert (scratch / "tests" / "cassettes_special" / "b.pkl").exists()
    assert (sdist / "tests" / "cassettes" / "test_a_datetimeobjects.pkl").exists()


def test_a_second_run_waits_for_the_first(
    compat_run: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compat_run, "WORK", tmp_path)
    first = compat_run.run_lock()
    first.__enter__()
    try:
        with pytest.raises(SystemExit, match="still holds"), compat_run.run_lock(wait_seconds=0.3):
            pass
    finally:
        first.__exit__(None, None, None)
    with compat_run.run_lock(wait_seconds=0.3):
        pass
