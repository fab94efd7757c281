"""PostgreSQL stopped and started again under load (a private cluster: the shared one is left
alone). While it is down every request answers at once with 503 `{"error": ...}` (never a 500,
never a hang); once it is back, reads and posts succeed again without restarting Kinfolk, and
every acknowledged post exists exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import (
    Kinfolk,
    PrivatePostgres,
    kinfolk_env,
    query,
    seed_accounts,
    wait_jobs_drained,
)

REQUEST_TIMEOUT = 15.0


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(tmp_path)
    try:
        pg.start()
        pg.create_database("kinfolk")
        yield pg
    finally:
        pg.destroy()


async def test_the_pool_recovers_from_a_postgresql_restart(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    url = private_pg.url("kinfolk")
    server = Kinfolk(tmp_path, kinfolk_env(tmp_path, url), "serve", name="serve")
    server.start()
    try:
        accounts = await seed_accounts(url, tmp_path / "data", ["author", "reader"])
        author, reader = accounts["author"], accounts["reader"]
        outcomes: list[tuple[str, str, int | str, float]] = []  # (phase, kind, status, seconds)
        acked: dict[str, int] = {}
        phase = "before"
        stop = asyncio.Event()

        async def load(kind: str, n: int) -> None:
            i = 0
            async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
                while not stop.is_set():
                    i += 1
                    started = time.monotonic()
                    text = f"pg restart {n}-{i}"
                    try:
                        if kind == "post":
                            r = await client.post(
                                "/api/v1/statuses", headers=author.headers, json={"status": text}
                            )
                        else:
                            r = await client.get("/api/v1/timelines/home", headers=reader.headers)
                    except httpx.TimeoutException:
                        outcomes.append((phase, kind, "timeout", time.monotonic() - started))
                        continue
                    except httpx.TransportError as exc:
                        outcomes.append((phase, kind, f"transport: {exc!r}", time.monotonic() - started))
                        continue
                    outcomes.append((phase, kind, r.status_code, time.monotonic() - started))
                    if r.status_code == 200 and kind == "post":
                        acked[text] = int(r.json()["id"])
                    elif r.status_code != 200:
                        body = r.json()
                        assert isinstance(body.get("error"), str), r.text
                        await asyncio.sleep(0.1)

        async with httpx.AsyncClient(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
            r = await client.post(f"/api/v1/accounts/{author.id}/follow", headers=reader.headers)
            assert r.status_code == 200, r.text
        tasks = [asyncio.create_task(load("post", n)) for n in range(2)]
        tasks += [asyncio.create_task(load("read", n)) for n in range(3)]
        await asyncio.sleep(2)
        phase = "down"
        await asyncio.to_thread(private_pg.stop, "fast")
        await asyncio.sleep(3)
        phase = "restarting"
        await asyncio.to_thread(private_pg.start)
        phase = "after"
        restarted = time.monotonic()
        # Resumed by itself: within 15 s of the restart both reads and posts answer 200 again.
        while time.monotonic() - restarted < 15:
            recent = [(k, s) for p, k, s, _ in outcomes[-20:] if p == "after"]
            if (
                len(recent) >= 10
                and all(s == 200 for _, s in recent)
                and {k for k, _ in recent} == {"read", "post"}
            ):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*tasks)

        summary = Counter((p, k, s) for p, k, s, _ in outcomes)
        bad = [o for o in outcomes if o[2] not in (200, 503)]
        assert not bad, f"not 200 or 503: {bad[:10]}\n{summary}\n{server.logs()}"
        assert summary[("down", "read", 503)] + summary[("down", "post", 503)] > 0, summary
        slowest_failure = max((d for _, _, s, d in outcomes if s == 503), default=0.0)
        assert slowest_failure < 10, f"a 503 took {slowest_failure:.1f} s"
        tail = [(k, s) for p, k, s, _ in outcomes if p == "after"][-10:]
        assert tail and all(s == 200 for _, s in tail), f"{tail}\n{summary}\n{server.logs()}"

        await wait_jobs_drained(url, 60, server.logs())
        rows = await query(url, "SELECT text, count(*) FROM statuses GROUP BY text")
        counts = {str(t): int(n) for t, n in rows}
        assert all(counts.get(text) == 1 for text in acked), [t for t in acked if counts.get(t) != 1]
        assert all(n == 1 for n in counts.values())
    finally:
        server.stop()
