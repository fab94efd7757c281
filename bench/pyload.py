"""The Python load generator, used when `wrk` is not installed: N aiohttp connections in a closed
loop, run as its own process (`python -m bench.pyload URL SECONDS CONNECTIONS TOKENS METHOD BODY`).

It is slower than wrk (about 3,000-5,000 requests per second on one core here), so it can be
the bottleneck for the fastest anchors; the report names the tool used.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

MARK = "BENCHJSON "


async def main(url: str, seconds: float, connections: int, token_file: str, method: str, body: str) -> None:
    tokens = [t for t in Path(token_file).read_text().splitlines() if t]
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            headers = {}
            if tokens:
                headers["Authorization"] = f"Bearer {tokens[next(counter) % len(tokens)]}"
            if body:
                headers["Content-Type"] = "application/json"
            started = time.perf_counter()
            try:
                async with session.request(method, url, data=body or None, headers=headers) as response:
                    await response.read()
                    if response.status >= 400:
                        errors += 1
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else 0.0

    result = {
        "rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else 0.0,
        "tool": "python-aiohttp",
    }
    print(MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    url, seconds, connections, token_file, method = sys.argv[1:6]
    body = sys.argv[6] if len(sys.argv) > 6 else ""
    asyncio.run(main(url, float(seconds), int(connections), token_file, method, body))
