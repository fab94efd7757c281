"""Load generators: `wrk` (Debian's package) when installed, else a Python asyncio generator in
its own process. Both are closed loops of N connections and report requests per second, latency
percentiles and errors in the same shape.

Requests rotate over a list of bearer tokens, one per request, so a timeline benchmark reads
2,000 different feeds rather than one hot one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.procs import CLIENT_CORE, pinned

_MARK = "BENCHJSON "

_LUA = r"""
local tokens = {}
local method = "%(method)s"
local path = "%(path)s"
local body = %(body)s
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local n = 0
request = function()
  n = n + 1
  local headers = {}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1] end
  if body ~= nil then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path, headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"mean_us":%%f,"max_us":%%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


@dataclass
class LoadResult:
    rps: float
    requests: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    tool: str

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_LOADGEN") != "python"


def run(
    base_url: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    tokens: list[str] | None = None,
    method: str = "GET",
    body: str | None = None,
) -> LoadResult:
    """A closed loop of `connections` clients for `seconds`, on the load generator's core."""
    with tempfile.TemporaryDirectory(prefix="kinfolk-bench-") as tmp:
        token_file = Path(tmp) / "tokens.txt"
        token_file.write_text("\n".join(tokens or []) + ("\n" if tokens else ""))
        if have_wrk():
            return _wrk(base_url, path, seconds, connections, token_file, method, body, Path(tmp))
        return _python(base_url, path, seconds, connections, token_file, method, body)


def _wrk(
    base_url: str,
    path: str,
    seconds: float,
    connections: int,
    token_file: Path,
    method: str,
    body: str | None,
    tmp: Path,
) -> LoadResult:
    script = tmp / "bench.lua"
    script.write_text(
        _LUA
        % {
            "method": method,
            "path": path,
            "body": "nil" if body is None else _lua_string(body),
            "tokens": str(token_file),
            "mark": _MARK,
        }
    )
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    out = subprocess.run(pinned(argv, CLIENT_CORE), capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK) :])
            errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return LoadResult(
                rps=data["requests"] / (data["duration_us"] / 1e6),
                requests=data["requests"],
                errors=errors,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                mean_ms=data["mean_us"] / 1000,
                tool="wrk",
            )
    raise RuntimeError(f"wrk gave no result: {out.stdout[-2000:]} {out.stderr[-2000:]}")


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _python(
    base_url: str,
    path: str,
    seconds: float,
    connections: int,
    token_file: Path,
    method: str,
    body: str | None,
) -> LoadResult:
    argv = [
        sys.executable,
        "-m",
        "bench.pyload",
        base_url + path,
        str(seconds),
        str(connections),
        str(token_file),
        method,
        body or "",
    ]
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        pinned(argv, CLIENT_CORE), capture_output=True, text=True, timeout=seconds + 60, cwd=root
    )
    for line in out.stdout.splitlines():
        if line.startswith(_MARK):
            return LoadResult(**json.loads(line[len(_MARK) :]))
    raise RuntimeError(f"the Python load generator gave no result: {out.stderr[-2000:]}")
