"""Reading the suite's junit report and judging it against the known-failures list."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="6">
<testcase classname="tests.test_status" name="test_status_post" time="0.1"/>
<testcase classname="tests.test_status" name="test_status_card" time="0.1">
  <failure message="assert None&#10;second line">trace</failure></testcase>
<testcase classname="tests.test_status" name="test_status_pin[x]" time="0.1">
  <skipped type="pytest.skip" message="not today">skip</skipped></testcase>
<testcase classname="tests.test_status" name="test_status_post[foobar]" time="0.1">
  <skipped type="pytest.xfail" message="" /></testcase>
<testcase classname="tests.test_lists" name="test_list_create" time="0.1"/>
<testcase classname="tests.test_lists" name="test_list_create" time="0.1">
  <error message="failed on teardown with &quot;boom&quot;">trace</error></testcase>
<testcase classname="tests.test_push.TestPush" name="test_push_set" time="0.1">
  <failure message="404">trace</failure></testcase>
<testcase classname="" name="tests.test_search" time="0.0">
  <error message="collection failure">trace</error></testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def junit(tmp_path: Path) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    return path


def test_ids_are_the_ones_known_failures_use(compat_report: ModuleType) -> None:
    case_id = compat_report.case_id
    assert case_id("tests.test_status", "test_reply[a::b]") == "test_status.py::test_reply[a::b]"
    assert case_id("tests.test_push.TestPush", "test_set") == "test_push.py::TestPush::test_set"
    assert case_id("", "tests.test_search") == "test_search.py"


def test_parse_keeps_the_worst_outcome_per_test(compat_report: ModuleType, junit: Path) -> None:
    results = {r.test_id: r for r in compat_report.parse_junit(junit)}
    assert {tid: r.outcome for tid, r in results.items()} == {
        "test_status.py::test_status_post": "passed",
        "test_status.py::test_status_card": "failed",
        "test_status.py::test_status_pin[x]": "skipped",
        "test_status.py::test_status_post[foobar]": "xfailed",
        "test_lists.py::test_list_create": "error",
        "test_push.py::TestPush::test_push_set": "failed",
        "test_search.py": "error",
    }
    assert results["test_status.py::test_status_card"].message == "assert None"


def test_known_failures_need_a_reason(compat_report: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "known.txt"
    path.write_text("# comment\n\ntest_a.py::test_x   Mastodon.py bug: sends the wrong type\n")
    known = compat_report.load_known_failures(path)
    assert known == {"test_a.py::test_x": "Mastodon.py bug: sends the wrong type"}
    path.write_text("test_a.py::test_x\n")
    with pytest.raises(ValueError, match="needs a reason"):
        compat_report.load_known_failures(path)
    assert compat_report.load_known_failures(tmp_path / "missing.txt") == {}


def test_only_unlisted_failures_fail_the_run(compat_report: ModuleType, junit: Path) -> None:
    results = compat_report.parse_junit(junit)
    known = {
        "test_status.py::test_status_card": "environment",
        "test_lists.py::test_list_create": "environment",
        "test_push.py::TestPush::test_push_set": "environment",
        "test_search.py": "environment",
        "test_status.py::test_status_post": "stale entry",
    }
    verdict = compat_report.judge(results, known)
    assert verdict.ok
    assert verdict.fixed == ["test_status.py::test_status_post"]
    assert len(verdict.expected) == 4

    del known["test_push.py::TestPush::test_push_set"]
    verdict = compat_report.judge(results, known)
    assert not verdict.ok
    assert [r.test_id for r in verdict.unexpected] == ["test_push.py::TestPush::test_push_set"]


def test_summary_table_counts_per_file(compat_report: ModuleType, junit: Path) -> None:
    results = compat_report.parse_junit(junit)
    rows = compat_report.summary_rows(results)
    assert rows == [
        ("test_status.py", 1, 1, 1, 0, 1),
        ("test_lists.py", 0, 0, 0, 1, 0),
        ("test_push.py", 0, 1, 0, 0, 0),
        ("test_search.py", 0, 0, 0, 1, 0),
        ("TOTAL", 1, 2, 1, 2, 1),
    ]
    text = compat_report.render(compat_report.judge(results, {}), {})
    assert "test_push.py::TestPush::test_push_set  [failed] 404" in text
    assert "Failing (4)" in text
