"""Medians, spreads, goal checks, the JSON report and the table printed at the end."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: 0.1 means the runs differ by 10% of their median."""
    if len(values) < 2:
        return 0.0
    mid = median(values)
    return (max(values) - min(values)) / mid if mid else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Anchor:
    name: str
    unit: str
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    what: str = ""

    @property
    def value(self) -> float:
        return median(self.before + self.after)

    def as_dict(self) -> dict[str, Any]:
        both = self.before + self.after
        return {
            "value": round(self.value, 3),
            "unit": self.unit,
            "before": [round(v, 3) for v in self.before],
            "after": [round(v, 3) for v in self.after],
            "spread": round(spread(both), 3),
            "what": self.what,
        }


@dataclass
class Goal:
    id: str
    subject: str
    values: list[float]
    unit: str
    goal: str  # "<= 2.5" or ">= 0.25", applied to the ratio (or to the value without anchor)
    anchor: str | None = None
    anchor_value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # A ratio between two subjects measured side by side (p50 of one author over another's).
    ratio_values: list[float] | None = None

    @property
    def value(self) -> float:
        return median(self.values)

    @property
    def ratios(self) -> list[float]:
        if self.ratio_values is not None:
            return self.ratio_values
        if self.anchor_value:
            return [v / self.anchor_value for v in self.values]
        return []

    @property
    def ratio(self) -> float | None:
        return median(self.ratios) if self.ratios else None

    @property
    def met(self) -> bool:
        op, threshold = self.goal.split()
        target = self.ratio if (self.anchor or self.ratio_values is not None) else self.value
        if target is None or target != target:  # NaN: nothing was measured
            return False
        return target >= float(threshold) if op == ">=" else target <= float(threshold)

    def as_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "subject": self.subject,
            "value": round(self.value, 3),
            "unit": self.unit,
            "runs": [round(v, 3) for v in self.values],
            "anchor": self.anchor,
            "ratio": None if ratio is None else round(ratio, 3),
            "spread": round(spread(self.ratios or self.values), 3),
            "goal": self.goal,
            "met": self.met,
            **({"detail": self.detail} if self.detail else {}),
        }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:
        return "unavailable"


def machine(load_generator: str) -> dict[str, Any]:
    from importlib.metadata import version

    def v(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "not installed"

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_mb": _mem_total_mb(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "load_average_start": list(os.getloadavg()),
        "load_generator": load_generator,
        "wrk": _version(["wrk", "-v"]) if shutil.which("wrk") else "not installed",
        "postgresql": _version(["psql", "--version"]) if shutil.which("psql") else "unknown",
        "sqlite": __import__("sqlite3").sqlite_version,
        "packages": {
            p: v(p) for p in ("starlette", "uvicorn", "granian", "sqlalchemy", "aiosqlite", "asyncpg")
        },
        "pinning": "server on core 0, load generator and bench on core 1 (taskset)"
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2
        else "none (taskset missing or one core)",
    }


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or value != value:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def table(report: dict[str, Any]) -> str:
    lines = ["", "Anchors (median of the runs before and after)"]
    lines.append(f"  {'anchor':<22} {'value':>12} {'unit':<8} {'spread':>7}  what")
    for name, a in report["anchors"].items():
        lines.append(
            f"  {name:<22} {_fmt(a['value']):>12} {a['unit']:<8} {a['spread'] * 100:>6.0f}%  {a['what']}"
        )
    lines.append("")
    lines.append("Goals (value: median of 3 runs; ratio: to the anchor measured in this run)")
    header = (
        f"  {'id':<26} {'value':>10} {'unit':<6} {'anchor':<16} {'ratio':>7} {'spread':>7} {'goal':>8}  met"
    )
    lines.append(header)
    for gid, g in report["goals"].items():
        lines.append(
            f"  {gid:<26} {_fmt(g['value']):>10} {g['unit']:<6} {g['anchor'] or '-':<16} "
            f"{_fmt(g['ratio']):>7} {g['spread'] * 100:>6.0f}% {g['goal']:>8}  {'yes' if g['met'] else 'NO'}"
        )
        lines.append(f"      {g['subject']}")
    if report.get("comparisons"):
        lines.append("")
        lines.append("Comparisons")
        for name, c in report["comparisons"].items():
            lines.append(f"  {name}: {c}")
    lines.append("")
    return "\n".join(lines)
