"""Reading the junit XML of a Mastodon.py run and judging it against compat/known-failures.txt.

Kept free of Kinfolk imports and third-party packages so that it runs under any Python and can be
tested on its own (tests/compat/).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Worst outcome wins when pytest reports one test twice (a teardown error after a pass). "xfailed"
# is a test the suite marks as expected to fail (bad input that must be refused), and it did.
_RANK = {"passed": 0, "xfailed": 1, "skipped": 2, "failed": 3, "error": 4}


@dataclass
class Result:
    test_id: str
    outcome: str
    message: str = ""

    @property
    def file(self) -> str:
        return self.test_id.split("::", 1)[0]

    @property
    def bad(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass
class Verdict:
    results: list[Result]
    unexpected: list[Result] = field(default_factory=list)
    expected: list[Result] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexpected


def case_id(classname: str, name: str) -> str:
    """`tests.test_status` + `test_reply[x]` -> `test_status.py::test_reply[x]` (the ids we list)."""
    if not classname:
        # A collection error: pytest names the module itself, e.g. `tests.test_status`.
        return _module_file(name.split(".")) if "." in name and "[" not in name else name
    parts = classname.split(".")
    if parts and parts[0] == "tests":
        parts = parts[1:]
    module, classes = parts[0], parts[1:]
    return "::".join([f"{module}.py", *classes, name])


def _module_file(parts: list[str]) -> str:
    if parts and parts[0] == "tests":
        parts = parts[1:]
    return "/".join(parts) + ".py"


def parse_junit(path: Path) -> list[Result]:
    """One Result per test id, in the order pytest ran them."""
    root = ET.parse(path).getroot()
    found: dict[str, Result] = {}
    for case in root.iter("testcase"):
        tid = case_id(case.get("classname", ""), case.get("name", ""))
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                if child.tag == "skipped" and child.get("type") == "pytest.xfail":
                    outcome = "xfailed"
                message = _first_line(child.get("message") or child.text or "")
                break
        previous = found.get(tid)
        if previous is None or _RANK[outcome] > _RANK[previous.outcome]:
            found[tid] = Result(tid, outcome, message)
    return list(found.values())


def _first_line(text: str, limit: int = 200) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def load_known_failures(path: Path) -> dict[str, str]:
    """`<test id> <reason>` per line; `#` starts a comment line. A reason is required."""
    known: dict[str, str] = {}
    if not path.is_file():
        return known
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) < 2 or not parts[1].strip():
            raise ValueError(f"{path}:{number}: a known failure needs a reason: {line!r}")
        known[parts[0]] = parts[1].strip()
    return known


def judge(results: list[Result], known: dict[str, str]) -> Verdict:
    verdict = Verdict(results=results)
    for result in results:
        if not result.bad:
            if result.test_id in known:
                verdict.fixed.append(result.test_id)
            continue
        (verdict.expected if result.test_id in known else verdict.unexpected).append(result)
    return verdict


COLUMNS = ("passed", "failed", "skipped", "error", "xfailed")


def summary_rows(results: Iterable[Result]) -> list[tuple[str, int, int, int, int, int]]:
    """(file, passed, failed, skipped, error, xfailed) per file, in run order, plus a total row."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        row = counts.setdefault(result.file, dict.fromkeys(_RANK, 0))
        row[result.outcome] += 1
    rows = [(name, *(c[column] for column in COLUMNS)) for name, c in counts.items()]
    total = tuple(sum(row[i] for row in rows) for i in range(1, len(COLUMNS) + 1))
    rows.append(("TOTAL", *total))
    return rows  # type: ignore[return-value]


def render(verdict: Verdict, known: dict[str, str]) -> str:
    rows = summary_rows(verdict.results)
    width = max([len(r[0]) for r in rows] + [4])
    lines = [f"{'file':<{width}}  passed  failed  skipped  error  xfail", "-" * (width + 41)]
    for name, passed, failed, skipped, error, xfailed in rows:
        if name == "TOTAL":
            lines.append("-" * (width + 41))
        lines.append(f"{name:<{width}}  {passed:>6}  {failed:>6}  {skipped:>7}  {error:>5}  {xfailed:>5}")
    lines.append("(xfail: a test the suite expects to fail, e.g. bad input that must be refused, and it did)")
    if verdict.unexpected:
        lines += ["", f"Failing ({len(verdict.unexpected)}), not in compat/known-failures.txt:"]
        lines += [f"  {r.test_id}  [{r.outcome}] {r.message}" for r in verdict.unexpected]
    if verdict.expected:
        lines += ["", f"Known failures ({len(verdict.expected)}):"]
        lines += [f"  {r.test_id}  ({known[r.test_id]})" for r in verdict.expected]
    if verdict.fixed:
        lines += ["", "Listed in compat/known-failures.txt but passing now (remove them):"]
        lines += [f"  {tid}" for tid in verdict.fixed]
    return "\n".join(lines)
